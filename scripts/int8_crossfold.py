#!/usr/bin/python3
"""int8 against fp32 on every held-out fold of 10-fold cross-validation runs.

    scripts/int8_crossfold.py --build BUILD_DIR --work WORK_DIR RUN_DIR...

RUN_DIR is a `diffpool_ref.crossval --out` folder (fold-1 .. fold-10, each
with config.json, model.safetensors, graphs.json; docs/training.md). For each
fold K of each run:

  1. diffpool-convert writes the fp32 model and the int8 model; int8 is
     calibrated on split train-K of the TU dataset (the graphs the fold's model
     was trained and validated on; never its test graphs) with the converter's
     defaults (range search) and --calibration-limit (default 500), and its
     report also evaluates test-K (`--evaluate`, the converter's own check);
  2. the test-K graphs are written as graphs.json (reference/diffpool_ref's
     encoding, the same the trainer used) and scored by diffpool-score with
     both files: argmax agreement, accuracies, and the graphs that change
     class with their fp32 probabilities.

With --validation nothing held out is touched: for choosing settings, each
fold's TRAINING split is halved — calibration on min(--calibration-limit,
half) evenly spread graphs of train-K, agreement and accuracy measured by the
converter's --evaluate on the remaining train-K graphs (docs/quantization.md,
"Defaults"). Its work folders are separate from the held-out ones (a
`validation-` prefix).

Results are pooled over the folds and printed per fold. A fold whose
result.json exists in WORK_DIR is reused unless --force (so an interrupted
run resumes); --json writes everything to one file. Calibration settings
other than the defaults go after `--` and are passed to diffpool-convert.

Exit status: 0 done (targets are reported, not enforced), 1 a step failed,
2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "reference"))

NUM_FOLDS = 10


class StepError(RuntimeError):
    pass


def run(cmd: Sequence[str], log_path: str) -> str:
    """Runs cmd, writes its stdout+stderr to log_path, returns the text."""
    start = time.time()
    proc = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    with open(log_path, "w", encoding="utf-8") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.write(proc.stdout)
        f.write(f"\n[exit {proc.returncode}, {time.time() - start:.1f} s]\n")
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-8:])
        raise StepError(f"{cmd[0]} exited {proc.returncode} (log {log_path}):\n{tail}")
    return proc.stdout


SCORE_LINE = re.compile(r"^(\S+)\s+nodes\s+\d+\s+edges\s+\d+\s+p = \[([^\]]*)\]\s+class (\S+)")


def score(score_bin: str, model: str, graphs: str, log_path: str) -> Dict[str, Dict[str, Any]]:
    """diffpool-score's per-graph probabilities and class, by graph name."""
    text = run([score_bin, model, graphs, "--repeat", "1"], log_path)
    result = {}
    for line in text.splitlines():
        m = SCORE_LINE.match(line)
        if m:
            result[m.group(1)] = {"p": [float(v) for v in m.group(2).split(",")],
                                  "class": m.group(3)}
        elif " error " in line:
            raise StepError(f"{model}: {line.strip()} (log {log_path})")
    return result


EVAL_AGREE = re.compile(r"argmax agreement int8 vs fp32: (\d+)/(\d+)")
EVAL_ACC = re.compile(r"accuracy: fp32 (\d+)/(\d+) .*int8 (\d+)/(\d+)")
SIZE = re.compile(r"size: fp32 (\d+) bytes, int8 (\d+) bytes")


def converter_evaluation(report: str) -> Dict[str, Any]:
    """The --evaluate block of the converter's int8 report."""
    tail = report[report.find("evaluation on"):] if "evaluation on" in report else ""
    agree, acc = EVAL_AGREE.search(tail), EVAL_ACC.search(tail)
    size = SIZE.search(report)
    out: Dict[str, Any] = {}
    if agree and acc:
        out.update(agree=int(agree.group(1)), graphs=int(agree.group(2)),
                   fp32_correct=int(acc.group(1)), int8_correct=int(acc.group(3)))
    if size:
        out.update(fp32_bytes=int(size.group(1)), int8_bytes=int(size.group(2)))
    return out


def model_args(fold_dir: str) -> List[str]:
    """diffpool-convert's checkpoint arguments for a crossval fold folder."""
    return ["--config", os.path.join(fold_dir, "config.json"),
            "--weights", os.path.join(fold_dir, "model.safetensors"),
            "--test-vectors", os.path.join(fold_dir, "graphs.json")]


def split_training(n: int, limit: int) -> Tuple[List[int], List[int]]:
    """Positions 0..n-1 of a training split -> (calibration, validation):
    min(limit, ceil(n/2)) calibration positions evenly spread (the converter's
    --calibration-limit rule), the rest for validation."""
    k = min(limit, (n + 1) // 2)
    calibration = sorted({i * n // k for i in range(k)})
    chosen = set(calibration)
    return calibration, [i for i in range(n) if i not in chosen]


def validation_job(args, run_dir: str, fold: int, extra: List[str], config: Dict[str, Any],
                   work: str) -> Dict[str, Any]:
    """--validation: calibrate on half of train-K, evaluate on the other half."""
    from diffpool_ref.graphset import graphs_document, tu_records, write_graphs
    from diffpool_ref.tu import load_dataset

    fold_dir = os.path.join(run_dir, f"fold-{fold}")
    dataset = load_dataset(os.path.join(args.data, config["dataset"]))
    train, _ = dataset.fold(fold)
    train = list(train)
    cal_pos, val_pos = split_training(len(train), args.calibration_limit)
    paths = {}
    for name, positions in (("calibration", cal_pos), ("validation", val_pos)):
        records = tu_records(dataset, [train[i] for i in positions], config)
        paths[name] = os.path.join(work, f"{name}-{fold}.json")
        write_graphs(graphs_document(records, config["num_features"]), paths[name])
    convert = os.path.join(args.build, "converter", "diffpool-convert")
    int8 = os.path.join(work, "int8.dpm")
    start = time.time()
    report = run([convert] + model_args(fold_dir) + [
                  "--quantize", "int8", "--calibration", paths["calibration"],
                  "--evaluate", paths["validation"], "--out", int8] + extra,
                 os.path.join(work, "convert_int8.log"))
    ev = converter_evaluation(report)
    if "agree" not in ev or "fp32_bytes" not in ev or ev["graphs"] != len(val_pos):
        raise StepError(f"no evaluation of {len(val_pos)} graphs in the converter's report "
                        f"(log {work}/convert_int8.log)")
    result = {"run": run_dir, "dataset": config["dataset"], "fold": fold, "graphs": ev["graphs"],
              "agree": ev["agree"], "fp32_correct": ev["fp32_correct"],
              "int8_correct": ev["int8_correct"], "flips": [],
              "fp32_bytes": ev["fp32_bytes"], "int8_bytes": ev["int8_bytes"],
              "calibration_graphs": len(cal_pos), "validation": True,
              "convert_s": round(time.time() - start, 1), "extra_flags": extra}
    with open(os.path.join(work, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def fold_job(args, run_dir: str, fold: int, extra: List[str]) -> Dict[str, Any]:
    from diffpool_ref.graphset import graphs_document, tu_records, write_graphs
    from diffpool_ref.tu import load_dataset

    fold_dir = os.path.join(run_dir, f"fold-{fold}")
    with open(os.path.join(fold_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    dataset_name = config["dataset"]
    prefix = "validation-" if args.validation else ""
    work = os.path.join(args.work, prefix + os.path.basename(os.path.normpath(run_dir)),
                        f"fold-{fold}")
    result_path = os.path.join(work, "result.json")
    if os.path.exists(result_path) and not args.force:
        with open(result_path, encoding="utf-8") as f:
            return json.load(f)
    os.makedirs(work, exist_ok=True)
    if args.validation:
        return validation_job(args, run_dir, fold, extra, config, work)
    tu = os.path.join(args.data, dataset_name)
    convert = os.path.join(args.build, "converter", "diffpool-convert")
    score_bin = os.path.join(args.build, "examples", "diffpool-score")
    common = model_args(fold_dir)
    fp32 = os.path.join(work, "fp32.dpm")
    int8 = os.path.join(work, "int8.dpm")
    start = time.time()
    run([convert] + common + ["--out", fp32], os.path.join(work, "convert_fp32.log"))
    report = run([convert] + common + [
        "--quantize", "int8", "--calibration", tu, "--calibration-split", f"train-{fold}",
        "--calibration-limit", str(args.calibration_limit),
        "--evaluate", tu, "--evaluate-split", f"test-{fold}", "--out", int8] + extra,
        os.path.join(work, "convert_int8.log"))
    convert_s = time.time() - start

    dataset = load_dataset(tu)
    _, test = dataset.fold(fold)
    records = tu_records(dataset, test, config)
    graphs = os.path.join(work, f"test-{fold}.json")
    write_graphs(graphs_document(records, config["num_features"]), graphs)
    s32 = score(score_bin, fp32, graphs, os.path.join(work, "score_fp32.log"))
    s8 = score(score_bin, int8, graphs, os.path.join(work, "score_int8.log"))
    names = config["output_names"]
    agree = c32 = c8 = 0
    flips = []
    for record in records:
        if record.name not in s32 or record.name not in s8:
            raise StepError(f"{record.name}: no score line (logs in {work})")
        a, b = s32[record.name], s8[record.name]
        k32, k8 = names.index(a["class"]), names.index(b["class"])
        agree += k32 == k8
        c32 += k32 == record.label
        c8 += k8 == record.label
        if k32 != k8:
            flips.append({"graph": record.name, "nodes": int(record.num_nodes),
                          "label": record.label, "fp32_p": a["p"], "int8_p": b["p"]})
    result = {
        "run": run_dir, "dataset": dataset_name, "fold": fold, "graphs": len(records),
        "agree": agree, "fp32_correct": c32, "int8_correct": c8, "flips": flips,
        "fp32_bytes": os.path.getsize(fp32), "int8_bytes": os.path.getsize(int8),
        "converter_evaluation": converter_evaluation(report), "convert_s": round(convert_s, 1),
        "extra_flags": extra,
    }
    ev = result["converter_evaluation"]
    if ev.get("graphs") == len(records) and (ev.get("agree"), ev.get("int8_correct")) != (
            agree, c8):
        result["note"] = "the converter's --evaluate (unfolded fp32) differs from diffpool-score"
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.2f}" if b else "-"


def summarize(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    n = sum(r["graphs"] for r in results)
    agree = sum(r["agree"] for r in results)
    c32 = sum(r["fp32_correct"] for r in results)
    c8 = sum(r["int8_correct"] for r in results)
    return {"graphs": n, "agree": agree, "fp32_correct": c32, "int8_correct": c8,
            "agreement_pct": 100.0 * agree / n, "fp32_acc": 100.0 * c32 / n,
            "int8_acc": 100.0 * c8 / n, "delta_points": 100.0 * (c8 - c32) / n,
            "fp32_bytes": [r["fp32_bytes"] for r in results],
            "int8_bytes": [r["int8_bytes"] for r in results]}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: List[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--build", default=os.path.join(REPO, "build"),
                        help="build folder with converter/diffpool-convert and "
                        "examples/diffpool-score (default: build/)")
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "tu"),
                        help="TU datasets folder (default ../shared/data/tu)")
    parser.add_argument("--work", required=True, help="folder for the models, logs, results")
    parser.add_argument("--folds", default="1-10", help="e.g. 1-10 (default) or 3,7")
    parser.add_argument("--calibration-limit", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=1, help="folds converted at once")
    parser.add_argument("--force", action="store_true", help="redo folds already done")
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--validation", action="store_true",
                        help="measure on halves of the TRAINING splits instead of the test "
                        "splits (for choosing settings; see above)")
    args = parser.parse_args(argv)

    folds: List[int] = []
    for part in args.folds.split(","):
        lo, _, hi = part.partition("-")
        folds.extend(range(int(lo), int(hi or lo) + 1))
    if not folds or any(k < 1 or k > NUM_FOLDS for k in folds):
        parser.error(f"--folds must name folds 1..{NUM_FOLDS}")
    for tool in ("converter/diffpool-convert", "examples/diffpool-score"):
        if not os.access(os.path.join(args.build, tool), os.X_OK):
            parser.error(f"{os.path.join(args.build, tool)} not found (build it first)")
    for run_dir in args.runs:
        for k in folds:
            if not os.path.isfile(os.path.join(run_dir, f"fold-{k}", "model.safetensors")):
                parser.error(f"{run_dir}/fold-{k}/model.safetensors not found")

    jobs = [(r, k) for r in args.runs for k in folds]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(fold_job, args, r, k, extra) for r, k in jobs]
        results = []
        for (r, k), fut in zip(jobs, futures):
            try:
                res = fut.result()
            except (StepError, OSError, ValueError) as err:
                print(f"int8_crossfold: {r} fold {k}: {err}", file=sys.stderr)
                return 1
            results.append(res)
            print(f"{res['dataset']:9s} fold {k:2d}: agreement {res['agree']}/{res['graphs']}, "
                  f"fp32 {res['fp32_correct']}, int8 {res['int8_correct']} correct, "
                  f"int8/fp32 size {pct(res['int8_bytes'], res['fp32_bytes'])}%"
                  + ("" if res.get("validation") else f", {len(res['flips'])} flip(s)")
                  + (f"  [{res['note']}]" if "note" in res else ""),
                  flush=True)

    graphs_kind = "validation graphs" if args.validation else "test graphs"
    print(f"\n| dataset | run | folds | {graphs_kind} | agreement | fp32 acc | int8 acc | Δ points "
          "| worst fold agreement |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|")
    summary = {}
    for run_dir in args.runs:
        rs = [r for r in results if r["run"] == run_dir]
        s = summarize(rs)
        summary[run_dir] = s
        worst = min(rs, key=lambda r: r["agree"] / r["graphs"])
        print(f"| {rs[0]['dataset']} | {os.path.basename(os.path.normpath(run_dir))} | {len(rs)} "
              f"| {s['graphs']} | {s['agree']}/{s['graphs']} ({s['agreement_pct']:.2f}%) "
              f"| {s['fp32_acc']:.2f} | {s['int8_acc']:.2f} | {s['delta_points']:+.2f} "
              f"| {worst['agree']}/{worst['graphs']} (fold {worst['fold']}) |")
    print("\nper fold: agreement (fp32 correct / int8 correct)")
    for run_dir in args.runs:
        rs = [r for r in results if r["run"] == run_dir]
        cells = [f"{r['fold']}: {r['agree']}/{r['graphs']} ({r['fp32_correct']}/"
                 f"{r['int8_correct']})" for r in rs]
        print(f"  {rs[0]['dataset']}: " + ", ".join(cells))
    print("\ngraphs that change class (fp32 p -> int8 p):")
    for r in results:
        for flip in r["flips"]:
            print(f"  {r['dataset']} fold {r['fold']} {flip['graph']} ({flip['nodes']} nodes, "
                  f"label {flip['label']}): {flip['fp32_p']} -> {flip['int8_p']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"summary": summary, "folds": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
