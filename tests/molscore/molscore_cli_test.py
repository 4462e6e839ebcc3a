#!/usr/bin/env python3
"""molscore end to end: arguments, per-line errors, output formats, --explain.

Run by ctest (tests/molscore/CMakeLists.txt) with the binaries and the test
models; --launcher is the cross-compiling emulator (empty natively). Every
check compares against something computed outside molscore: the expected
line numbers and parser messages, dump_assignments' argmax of S (straight
from Interpreter::GetAssignment) for the SVG colors.
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"

# Real molecules (drugs and MoleculeNet-style structures): fused and bridged
# rings, charges, salts, a macrocycle, triple bonds, halogens.
REAL_MOLECULES = [
    ("aspirin", "CC(=O)Oc1ccccc1C(=O)O"),
    ("caffeine", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"),
    ("propranolol", "CC(C)NCC(O)COc1cccc2ccccc12"),
    ("ibuprofen", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"),
    ("diazepam", "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc12"),
    ("testosterone", "CC12CCC3C(CCC4=CC(=O)CCC34C)C1CCC2O"),
    ("morphine", "CN1CCC23C4C1CC5=C2C(=C(C=C5)O)OC3C(C=C4)O"),
    ("nitrobenzene", "c1ccc(cc1)[N+](=O)[O-]"),
    ("sodium_benzoate", "[Na+].[O-]C(=O)c1ccccc1"),
    ("cubane", "C12C3C4C1C5C2C3C45"),
    ("adamantane", "C1C2CC3CC1CC(C2)C3"),
    ("cyclododecane", "C1CCCCCCCCCCC1"),
    ("ethynylestradiol", "CC12CCC3c4ccc(O)cc4CCC3C1CCC2(O)C#C"),
    ("chlorpromazine", "CN(C)CCCN1c2ccccc2Sc2ccc(Cl)cc21"),
    ("ciprofloxacin", "OC(=O)C1=CN(C2CC2)c2cc(N3CCNCC3)c(F)cc2C1=O"),
    ("azulene", "c1ccc2cccc2cc1"),
    ("acetonitrile", "CC#N"),
    ("methane", "C"),
]


class Runner:
    def __init__(self, args):
        self.launcher = shlex.split(args.launcher) if args.launcher else []
        self.molscore = args.molscore
        self.dump = args.dump
        self.failures = 0
        self.checks = 0

    def run(self, binary, argv, stdin=None):
        p = subprocess.run(self.launcher + [binary] + argv, input=stdin, capture_output=True,
                           text=True, timeout=300)
        return p.returncode, p.stdout, p.stderr

    def molscore_run(self, *argv, stdin=None):
        return self.run(self.molscore, list(argv), stdin)

    def check(self, condition, what, detail=""):
        self.checks += 1
        if not condition:
            self.failures += 1
            print(f"FAIL: {what}" + (f"\n  {detail}" if detail else ""))


def test_arguments(r, models):
    rc, out, _ = r.molscore_run("--help")
    r.check(rc == 0 and "usage: molscore MODEL.dpm SMILES..." in out and "--explain" in out,
            "--help prints the usage and exits 0", out[:200])
    cases = [
        ([], "missing MODEL.dpm"),
        ([models["classifier"]], "no molecules: give SMILES or --file FILE"),
        ([models["classifier"], "CCO", "--frobnicate"], "unknown option --frobnicate"),
        ([models["classifier"], "CCO", "--threads", "0"], "--threads takes a whole number"),
        ([models["classifier"], "CCO", "--threads", "two"], "--threads takes a whole number"),
        ([models["classifier"], "CCO", "--repeat"], "--repeat needs a value"),
        ([models["classifier"], "CCO", "--file", "x.smi"], "SMILES arguments or --file, not both"),
        ([models["classifier"], "CCO", "CCN", "--explain", "x.svg"],
         "--explain draws exactly one molecule"),
        ([models["classifier"], "CCO", "--explain", "x.svg", "--explain-dir", "d"],
         "--explain and --explain-dir exclude each other"),
        (["/nonexistent/model.dpm", "CCO"], "cannot read /nonexistent/model.dpm"),
        ([models["garbage"], "CCO"], "kModel"),
        ([models["classifier"], "--file", "/nonexistent/in.smi"], "cannot read /nonexistent/in.smi"),
        ([models["no_levels"], "CCO", "--explain", "x.svg"], "has no DiffPool pooling level"),
        ([models["classifier"], "CCO", "--self-test"], "self-test kSelfTestMissing"),
    ]
    for argv, expected in cases:
        rc, out, err = r.molscore_run(*argv)
        r.check(rc == 2 and expected in err and out == "",
                f"molscore {' '.join(argv)}: exit 2 with '{expected}'",
                f"rc={rc} stdout={out!r} stderr={err!r}")


TEXT_SCORE = "p(inactive)={:.4f} p(active)={:.4f} class={}"


def parse_text_line(line):
    """'line 3 name: k=v k=v ...' -> (where, number, label, fields) for a score line."""
    head, _, rest = line.partition(": ")
    where, number, label = head.split(" ", 2)
    fields = dict(f.split("=", 1) for f in rest.split(" ") if "=" in f)
    return where, int(number), label, fields, rest


def test_batch(r, models, tmp):
    too_big = "C" * 70
    lines = [
        "CC(=O)Oc1ccccc1C(=O)O aspirin",   # 1
        "# a comment line",               # 2 (skipped)
        "C1CCCCC broken ring",            # 3 syntax
        "",                               # 4 (skipped)
        "c1cccc1 bad aromatic",           # 5 chemistry
        too_big + " too big",             # 6 more atoms than max_nodes 64
        "CC(C)NCC(O)COc1cccc2ccccc12\tpropranolol",  # 7 tab-separated name
        "C[N+](C)(C)C",                   # 8 no name
        "C(C)(C)(C)(C)C pentavalent",     # 9 chemistry: valence
        "OCC",                            # 10
    ]
    path = os.path.join(tmp, "batch.smi")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    rc, out, err = r.molscore_run(models["classifier"], "--file", path)
    got = out.splitlines()
    r.check(rc == 1, "a batch with bad lines exits 1", f"rc={rc} {err}")
    r.check(len(got) == 8, "one output line per molecule (comments and blank lines skipped)",
            out)
    expected_errors = {
        3: "line 3 broken ring: error kSmilesSyntax: position 1: ring closure 1 never closed",
        5: "line 5 bad aromatic: error kSmilesChemistry: can't kekulize",
        6: "line 6 too big: error kGraphTooManyNodes: 70 atoms, at most 64",
        9: "line 9 pentavalent: error kSmilesChemistry: position 0: explicit valence 5 of C exceeds 4",
    }
    expected_scored = {1: ("aspirin", 13), 7: ("propranolol", 19), 8: ("C[N+](C)(C)C", 5),
                       10: ("OCC", 3)}
    by_number = {}
    for line in got:
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] == "line" and parts[1].isdigit():
            by_number[int(parts[1])] = line
    r.check(sorted(by_number) == [1, 3, 5, 6, 7, 8, 9, 10], "line numbers of the input file",
            str(sorted(by_number)))
    r.check([int(l.split(" ")[1]) for l in got] == sorted(by_number), "output in input order")
    for number, prefix in expected_errors.items():
        r.check(by_number.get(number, "").startswith(prefix), f"error line {number}",
                f"got {by_number.get(number)!r}, want prefix {prefix!r}")
    for number, (label, atoms) in expected_scored.items():
        line = by_number.get(number, "")
        try:
            where, n, got_label, fields, _ = parse_text_line(line)
            p0, p1 = float(fields["p(inactive)"]), float(fields["p(active)"])
            ok = (got_label == label and int(fields["atoms"]) == atoms and
                  abs(p0 + p1 - 1.0) <= 2e-4 and 0 <= p0 <= 1 and
                  fields["class"] == ("active" if p1 > p0 else "inactive") and
                  fields["latency"].endswith("us") and float(fields["latency"][:-2]) > 0)
        except (ValueError, KeyError):
            ok = False
        r.check(ok, f"score line {number}: label, probabilities, class, atoms, latency", line)
    r.check("scored 4 of 8 molecules, 4 failed" in err, "summary on stderr", err)

    # The same from standard input, and all-good input exits 0.
    rc2, out2, _ = r.molscore_run(models["classifier"], "--file", "-",
                                  stdin="\n".join(lines) + "\n")
    strip = lambda text: [l.rsplit(" latency=", 1)[0] for l in text.splitlines()]
    r.check(rc2 == 1 and strip(out2) == strip(out), "--file - reads standard input")
    rc3, out3, _ = r.molscore_run(models["classifier"], "CCO", "c1ccccc1 benzene")
    r.check(rc3 == 0 and out3.startswith("arg 1 CCO: p(inactive)=") and
            "\narg 2 benzene: " in out3, "all scored: exit 0, 'arg N' lines", out3)

    # A line longer than the input buffer is an error, not a truncated SMILES.
    long_path = os.path.join(tmp, "long.smi")
    with open(long_path, "w") as f:
        f.write("CCO\n" + "C" * 70000 + "\nCCN\n")
    rc4, out4, _ = r.molscore_run(models["classifier"], "--file", long_path)
    l4 = out4.splitlines()
    r.check(rc4 == 1 and len(l4) == 3 and l4[1] == "line 2: error: longer than 65536 bytes" and
            l4[2].startswith("line 3 CCN: "), "over-long line: error, batch goes on", out4[:300])

    # Threads do not change the scores (the runtime is bit-identical).
    rc5, out5, _ = r.molscore_run(models["classifier"], "--file", path, "--threads", "2",
                                  "--repeat", "3")
    r.check(rc5 == 1 and strip(out5) == strip(out), "--threads 2 --repeat 3: same lines")


def test_json_and_regression(r, models):
    rc, out, _ = r.molscore_run(models["regressor"], "--json", "OCC ethanol", "F/C=C\\F",
                                "C1CC", "N#N")
    rows = []
    for line in out.splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            r.check(False, "--json: every line is JSON", line)
    r.check(rc == 1 and len(rows) == 4, "--json: one object per molecule, exit 1", out)
    if len(rows) != 4:
        return
    r.check(rows[0].get("arg") == 1 and rows[0].get("name") == "ethanol" and
            rows[0].get("smiles") == "OCC" and rows[0].get("atoms") == 3 and
            set(rows[0].get("scores", {})) == {"logS"} and
            math.isfinite(rows[0]["scores"]["logS"]) and "class" not in rows[0] and
            rows[0].get("latency_us", 0) > 0, "--json regression row", str(rows[0]))
    r.check(rows[1].get("smiles") == "F/C=C\\F" and rows[1].get("atoms") == 4,
            "--json escapes the backslash of a SMILES", str(rows[1]))
    err = rows[2].get("error", {})
    r.check(err == {"status": "kSmilesSyntax", "position": 1,
                    "message": "position 1: ring closure 1 never closed"},
            "--json error object with status, position and message", str(rows[2]))
    r.check(rows[3].get("atoms") == 2, "--json N#N", str(rows[3]))
    rc, out, _ = r.molscore_run(models["regressor"], "OCC")
    r.check(rc == 0 and out.startswith("arg 1 OCC: logS=") and " atoms=3 " in out and
            "class=" not in out, "regression text line", out)
    # Multilabel (tox21-like, SIGMOID): one probability per task, no class.
    rc, out, err = r.molscore_run(models["multilabel"], "OCC", "c1ccccc1O phenol")
    lines = out.splitlines()
    ok = rc == 0 and len(lines) == 2 and "per-task probabilities, 3 outputs" in err
    for line in lines:
        try:
            _, _, _, fields, _ = parse_text_line(line)
            probs = [float(fields[f"p({t})"]) for t in ("NR-AR", "NR-AhR", "SR-p53")]
            ok = ok and all(0 <= p <= 1 for p in probs) and "class" not in fields
        except (ValueError, KeyError):
            ok = False
    r.check(ok, "multilabel text lines: p(task) per task, no class", out + err)
    rc, out, _ = r.molscore_run(models["multilabel"], "--json", "OCC")
    row = json.loads(out) if rc == 0 else {}
    r.check(list(row.get("scores", {})) == ["NR-AR", "NR-AhR", "SR-p53"] and
            all(0 <= v <= 1 for v in row["scores"].values()) and "class" not in row,
            "--json multilabel row", out)
    rc, out, _ = r.molscore_run(models["classifier"], "--json", "OCC")
    row = json.loads(out) if rc == 0 else {}
    r.check(set(row.get("scores", {})) == {"inactive", "active"} and
            row.get("class") in ("inactive", "active") and
            abs(sum(row["scores"].values()) - 1) < 1e-4, "--json classification row", out)


def check_svg(r, svg_path, name, smiles, expected, score_text):
    try:
        root = ET.parse(svg_path).getroot()
    except (ET.ParseError, OSError) as e:
        r.check(False, f"{name}: SVG is well-formed XML", str(e))
        return
    r.check(root.tag == SVG + "svg", f"{name}: root is <svg>")
    groups = {g.get("id"): g for g in root.iter(SVG + "g") if g.get("id")}
    atoms = [g for g in groups["atoms"] if g.get("class") == "atom"] if "atoms" in groups else []
    legend = {int(g.get("data-cluster")): g for g in groups.get("legend", [])
              if g.get("class") == "cluster"}
    bonds = [g for g in groups["bonds"] if g.get("class") == "bond"] if "bonds" in groups else []
    r.check(len(atoms) == expected["atoms"] and
            [int(a.get("data-index")) for a in atoms] == list(range(expected["atoms"])),
            f"{name}: every atom drawn once", f"{len(atoms)} vs {expected['atoms']}")
    r.check(len(bonds) == expected["bonds"], f"{name}: every bond drawn",
            f"{len(bonds)} vs {expected['bonds']}")
    r.check(sorted(legend) == list(range(expected["num_clusters"])),
            f"{name}: the legend lists every level-1 cluster", str(sorted(legend)))
    counts = [0] * expected["num_clusters"]
    centres = []
    for a, cluster, element in zip(atoms, expected["clusters"], expected["elements"]):
        circle = a.find(SVG + "circle")
        counts[cluster] += 1
        centres.append((float(circle.get("cx")), float(circle.get("cy"))))
        legend_color = legend[cluster].find(SVG + "rect").get("fill") if cluster in legend else None
        r.check(int(a.get("data-cluster")) == cluster and circle.get("fill") == legend_color,
                f"{name}: atom {a.get('data-index')} has the color of cluster {cluster} "
                f"(argmax of S)", f"data-cluster {a.get('data-cluster')}, fill "
                f"{circle.get('fill')}, legend {legend_color}")
        label = a.find(SVG + "text")
        r.check(a.get("data-element") == element and
                ((label is not None and label.text.startswith(element)) if element != "C"
                 else True), f"{name}: atom {a.get('data-index')} element {element} labelled")
    r.check([int(legend[c].get("data-members")) for c in sorted(legend)] == counts,
            f"{name}: legend member counts", str(counts))
    colors = [legend[c].find(SVG + "rect").get("fill") for c in sorted(legend)]
    r.check(len(set(colors)) == len(colors), f"{name}: distinct cluster colors", str(colors))
    # No two atoms on top of each other: centres at least half a bond apart
    # (40 px per bond length).
    closest = min((math.dist(p, q) for i, p in enumerate(centres) for q in centres[i + 1:]),
                  default=math.inf)
    r.check(closest >= 20.0, f"{name}: no two atoms on top of each other",
            f"closest pair {closest:.1f} px")
    texts = "".join(t.text or "" for t in root.iter(SVG + "text"))
    r.check(smiles in texts.replace("SMILES ", "", 1) or smiles[:90] in texts,
            f"{name}: the title shows the SMILES")
    r.check(score_text in texts, f"{name}: the title shows the score", score_text)


def test_explain(r, models, tmp):
    for name, smiles in REAL_MOLECULES:
        rc, dump, err = r.run(r.dump, [models["classifier"], smiles])
        if rc != 0:
            r.check(False, f"{name}: dump_assignments", err)
            continue
        expected = json.loads(dump)
        svg = os.path.join(tmp, name + ".svg")
        rc, out, err = r.molscore_run(models["classifier"], f"{smiles} {name}", "--explain", svg)
        r.check(rc == 0 and out.rstrip().endswith(" svg=" + svg), f"{name}: --explain exits 0",
                out + err)
        if rc != 0:
            continue
        score_text = out.split(": ", 1)[1].split(" atoms=")[0]
        check_svg(r, svg, name, smiles, expected, score_text)
        # Deterministic: the same picture again, byte for byte.
        again = svg + ".again.svg"
        r.molscore_run(models["classifier"], f"{smiles} {name}", "--explain", again)
        with open(svg, "rb") as a, open(again, "rb") as b:
            r.check(a.read() == b.read(), f"{name}: the same SVG on a second run")

    # --explain-dir: one file per scored molecule, none for the failed one.
    listing = os.path.join(tmp, "explain.smi")
    with open(listing, "w") as f:
        f.write("CCO ethanol\nC1CC broken\nc1ccccc1 benzene ring\nCC#N\n")
    out_dir = os.path.join(tmp, "pictures")
    rc, out, err = r.molscore_run(models["classifier"], "--file", listing, "--explain-dir", out_dir)
    files = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
    r.check(rc == 1 and files == ["line1-ethanol.svg", "line3-benzene_ring.svg", "line4.svg"],
            "--explain-dir: DIR/line<N>[-<name>].svg for each scored molecule", f"{files} {err}")
    for f in files:
        try:
            ET.parse(os.path.join(out_dir, f))
        except ET.ParseError as e:
            r.check(False, f"{f}: well-formed", str(e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--molscore", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--regressor", required=True)
    ap.add_argument("--multilabel", required=True, help="a multilabel (SIGMOID) model")
    ap.add_argument("--no-levels", required=True, help="a molecule model without pooling")
    ap.add_argument("--launcher", default="")
    ap.add_argument("--only", choices=["arguments", "batch", "json", "explain"])
    args = ap.parse_args()
    r = Runner(args)
    with tempfile.TemporaryDirectory() as tmp:
        garbage = os.path.join(tmp, "garbage.dpm")
        with open(garbage, "wb") as f:
            f.write(b"not a model file at all" * 10)
        models = {"classifier": args.classifier, "regressor": args.regressor,
                  "multilabel": args.multilabel,
                  "no_levels": args.no_levels, "garbage": garbage}
        tests = {"arguments": lambda: test_arguments(r, models),
                 "batch": lambda: test_batch(r, models, tmp),
                 "json": lambda: test_json_and_regression(r, models),
                 "explain": lambda: test_explain(r, models, tmp)}
        for key, test in tests.items():
            if args.only in (None, key):
                test()
    print(f"{r.checks} checks, {r.failures} failed")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
