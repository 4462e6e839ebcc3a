#!/usr/bin/python3
"""diffpool-rt against PyTorch, on the same graphs and trained weights, and
against this machine's GEMM ceiling, in one run (docs/benchmarks.md).

    scripts/compare_speed.py [--build-dir build] [--quick] [--plot docs/x.png]

Measures, round by round (--rounds, best round kept):
  diffpool-rt fp32 and int8 at batch 1, batched with 1 and 2 threads
      (diffpool-bench --json; int8 when diffpool-convert has --quantize);
  PyTorch (torch.set_num_threads(1)): eager, TorchScript (trace + freeze per
      graph size) and dynamic int8 (quantize_dynamic on nn.Linear) at batch 1,
      and eager on padded batches as PyG's DenseDataLoader feeds the dense
      example (every graph padded to max_nodes, with a mask);
  the XNNPACK fp32 GEMM ceiling (diffpool-gemm-peak: the fastest run of
      1024^3, 512^3 and 256^3, on 1 and on 2 threads).
Prints one table (time per graph, ratio to PyTorch eager batch 1, useful
GFLOP/s and their fraction of the ceiling; FLOPs: compare_speed_flops.py),
the per-op profile at batch 1 and batched, the targets, and writes a PNG of
latency against node count (10..2000 nodes; the same weights converted with
max_nodes 2000).

Exit status 1 if a check fails: every variant must reproduce the reference
outputs of graphs.json (fp32 to 1e-4; int8 to 3.0 and the predicted class
on at least 2/3 of the graphs), and the FLOP count here must agree with
diffpool-bench --profile's count on the lowered model. Speed is reported,
never asserted.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(SCRIPTS)
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, os.path.join(ROOT, "reference"))

import torch  # noqa: E402

from compare_speed_flops import forward_flops  # noqa: E402
import compare_speed_torch as pt  # noqa: E402
from diffpool_ref.safetensors import load_file  # noqa: E402

# Every variant must reproduce graphs.json's float64 reference outputs:
# fp32 to 1e-4 on every log-probability; int8 (quantized activations move
# log-probabilities by up to 1.5 on the MUTAG test graphs) to a bound that
# still catches a broken model (a wrong scale or zero point moves them far
# more, or saturates them), and on the predicted class for most graphs.
FP32_TOLERANCE = 1e-4
INT8_TOLERANCE = 3.0
INT8_MIN_AGREEMENT = 2 / 3
SWEEP_SIZES = [10, 20, 50, 100, 200, 500, 1000, 2000]


# --- Environment -------------------------------------------------------------

def load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "?"


# --- Tools ---------------------------------------------------------------------

class Tools:
    def __init__(self, build_dir: str):
        self.convert = os.path.join(build_dir, "converter", "diffpool-convert")
        self.bench = os.path.join(build_dir, "tools", "bench", "diffpool-bench")
        self.gemm = os.path.join(build_dir, "tools", "gemm_peak", "diffpool-gemm-peak")
        for path in (self.convert, self.bench, self.gemm):
            if not os.access(path, os.X_OK):
                sys.exit(f"compare_speed: {path} missing: build first (scripts/build.sh)")
        usage = subprocess.run([self.convert, "--help"], capture_output=True, text=True).stdout
        self.has_int8 = "--quantize" in usage

    def convert_model(self, config: str, weights: str, out: str) -> None:
        run([self.convert, "--config", config, "--weights", weights, "--out", out])

    def convert_int8(self, config: str, weights: str, out: str, calibration) -> str:
        """Writes an int8 model; returns "" or why it could not."""
        if not self.has_int8:
            return "diffpool-convert has no --quantize"
        result = subprocess.run([self.convert, "--config", config, "--weights", weights,
                                 "--out", out, "--quantize", "int8", *calibration],
                                capture_output=True, text=True)
        if result.returncode != 0:
            return "int8 conversion failed: " + result.stderr.strip().splitlines()[-1]
        return ""

    def bench_json(self, model: str, *args: str) -> dict:
        out = run([self.bench, model, "--json", *args])
        return json.loads(out)

    def gemm_json(self, size: int, threads: int, min_secs: float) -> dict:
        return json.loads(run([self.gemm, "--m", str(size), "--k", str(size), "--n", str(size),
                               "--threads", str(threads), "--min-secs", str(min_secs), "--json"]))


def run(cmd) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"compare_speed: {' '.join(cmd)} failed ({result.returncode}):\n"
                 f"{result.stderr[-2000:]}")
    return result.stdout


# --- Measurements --------------------------------------------------------------

class Row:
    """One variant. Per round: the time per graph (us) from medians (the
    table's number) and from minimums (the least disturbed by other load);
    the best round of each is kept."""

    def __init__(self, name: str, threads: int, batch: int, kind: str):
        self.name, self.threads, self.batch, self.kind = name, threads, batch, kind
        self.medians, self.mins = [], []
        self.flops = 0.0      # useful FLOPs per graph (mean over the timed set)
        self.max_diff = None  # |output - reference| over the graph set
        self.agreement = None  # [graphs whose argmax is the reference's, graphs]
        self.note = ""

    def add(self, median_us: float, min_us: float) -> None:
        self.medians.append(median_us)
        self.mins.append(min_us)

    @property
    def us(self) -> float:
        return min(self.medians) if self.medians else float("nan")

    @property
    def us_min(self) -> float:
        return min(self.mins) if self.mins else float("nan")

    @property
    def spread(self) -> float:
        return max(self.medians) / min(self.medians) if self.medians else float("nan")

    def summary(self) -> dict:
        return dict(vars(self), us=self.us, us_min=self.us_min)


def batches_of(count: int, batch: int):
    """diffpool-bench's batches: exactly `batch` graphs, cycling the set."""
    return [[(b * batch + i) % count for i in range(batch)]
            for b in range((count + batch - 1) // batch)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--model-dir", default=os.path.join(ROOT, "examples", "mutag"))
    parser.add_argument("--graphs", help="graphs.json (default: MODEL_DIR/graphs.json)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--secs", type=float, default=1.0, help="timed seconds per variant and round")
    parser.add_argument("--batch", type=int, default=0, help="default: diffpool-bench's cache-aware choice")
    parser.add_argument("--plot", help="PNG of latency against node count")
    parser.add_argument("--json-out", help="write every number to this file")
    parser.add_argument("--calibration", help="int8 calibration source (default: the TU "
                        "training split when ../shared/data has it, else --graphs)")
    parser.add_argument("--max-graphs", type=int, default=0, help="use the first N graphs only")
    parser.add_argument("--quick", action="store_true",
                        help="seconds, for CI: 1 round, 3 graphs, tiny times, 2 sweep sizes")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.secs, args.max_graphs = 1, 0.05, args.max_graphs or 3
    graphs_path = args.graphs or os.path.join(args.model_dir, "graphs.json")
    with open(os.path.join(args.model_dir, "config.json")) as f:
        config = json.load(f)
    # int8 calibration: MUTAG's training split of fold 1 (the shipped model's)
    # when the data set is there, else the whole graphs file.
    tu = os.path.join(ROOT, "..", "shared", "data", "tu", config.get("dataset", "MUTAG"))
    if args.calibration:
        calibration = ["--calibration", args.calibration]
    elif os.path.isdir(tu) and config.get("training", {}).get("fold"):
        calibration = ["--calibration", tu, "--calibration-split",
                       f"train-{config['training']['fold']}"]
    else:
        calibration = ["--calibration", graphs_path]
    config_path = os.path.join(args.model_dir, "config.json")
    weights_path = os.path.join(args.model_dir, "model.safetensors")
    tools = Tools(args.build_dir)
    torch.set_num_threads(1)

    with open(graphs_path) as f:
        records = json.load(f)["graphs"]
    if args.max_graphs:
        records = records[:args.max_graphs]
    expected = np.array([r["expected"] for r in records]) if all(
        "expected" in r for r in records) else None
    graph_flops = [forward_flops(config, r["num_nodes"], len(r["edge_index"][0]))
                   for r in records]
    env = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "cpu": cpu_model(), "load_before": load_average(), "torch": torch.__version__,
           "python": platform.python_version(), "command": " ".join(sys.argv)}
    print(f"compare_speed: {env['date']}, {env['cpu']}, load {env['load_before']}, "
          f"torch {env['torch']}, {len(records)} graphs from {graphs_path}")
    failures = []
    work = tempfile.mkdtemp(prefix="diffpool-compare-")
    try:
        # The graphs every variant runs (diffpool-bench reads them from here).
        graphs_path = os.path.join(work, "graphs.json")
        with open(graphs_path, "w") as f:
            json.dump({"format": "diffpool-graphs", "version": 1,
                       "num_features": config["num_features"], "graphs": records}, f)
        fp32 = os.path.join(work, "fp32.dpm")
        tools.convert_model(config_path, weights_path, fp32)
        int8 = os.path.join(work, "int8.dpm")
        int8_problem = tools.convert_int8(config_path, weights_path, int8, calibration)
        if int8_problem:
            print(f"  no int8 rows: {int8_problem}")
            int8 = None
        env["int8_calibration"] = " ".join(calibration)
        secs = str(args.secs)
        common = ["--graphs", graphs_path, "--min-secs", secs, "--warmup-secs",
                  str(min(0.2, args.secs)), *(["--min-runs", "5"] if args.quick else [])]
        gemm_sizes = [256] if args.quick else [1024, 512, 256]

        # The batch: given, or the one diffpool-bench picks from the L2 size.
        batch = args.batch or tools.bench_json(fp32, *common, "--threads", "1",
                                               "--min-secs", "0")["batch"]
        batches = batches_of(len(records), batch)
        batch_flops = float(np.mean([sum(graph_flops[g] for g in b) for b in batches])) / batch
        mean_flops = float(np.mean(graph_flops))

        rows = {}
        split_rounds = []  # diffpool-bench --interpreters 2, per round
        def add(key, *a, flops=mean_flops):
            rows[key] = Row(*a)
            rows[key].flops = flops
        add("rt_fp32", "diffpool-rt fp32", 1, 1, "rt")
        if int8:
            add("rt_int8", "diffpool-rt int8", 1, 1, "rt")
        add("rt_fp32_b", "diffpool-rt fp32 batched", 1, batch, "rt", flops=batch_flops)
        add("rt_fp32_b2", "diffpool-rt fp32 batched", 2, batch, "rt", flops=batch_flops)
        add("rt_fp32_bi2", "diffpool-rt fp32 batched, 2 interpreters (graphs split)", 2, batch,
            "rt", flops=batch_flops)
        if int8:
            add("rt_int8_b", "diffpool-rt int8 batched", 1, batch, "rt", flops=batch_flops)
        add("eager", "PyTorch eager", 1, 1, "torch")
        add("script", "PyTorch TorchScript (trace+freeze)", 1, 1, "torch")
        add("dyn_int8", "PyTorch dynamic int8 (Linear)", 1, 1, "torch")
        add("padded", f"PyTorch eager, padded to {config['max_nodes']} (DenseDataLoader)", 1,
            batch, "torch", flops=batch_flops)
        add("padded_losses", "  same, with the example's link/entropy losses", 1, batch,
            "torch", flops=batch_flops)

        # PyTorch models and inputs, built once.
        tensors, _ = load_file(weights_path)
        net = pt.load_net(config, tensors)
        net_losses = pt.load_net(config, tensors, losses=True)
        dense = [pt.DenseGraph(r) for r in records]
        padded = [pt.DenseGraph(r, config["max_nodes"]) for r in records]
        padded_batches = [pt.padded_batch([padded[g] for g in b]) for b in batches]
        t0 = time.perf_counter()
        scripted = pt.traced_per_size(net, dense)
        trace_secs = time.perf_counter() - t0
        rows["script"].note = f"{len(scripted)} traces, {trace_secs:.1f} s to build"
        quantized = pt.dynamic_int8(net)
        rows["dyn_int8"].note = f"engine {torch.backends.quantized.engine}"
        ceilings = {1: [], 2: []}
        profiles = {}

        def check(row, outputs):
            if expected is None:
                return
            outputs = np.asarray(outputs)
            row.max_diff = float(np.abs(outputs - expected).max())
            row.agreement = [int((outputs.argmax(1) == expected.argmax(1)).sum()), len(expected)]

        for round_index in range(args.rounds):
            for threads in (1, 2):
                for size in gemm_sizes:
                    ceilings[threads].append(
                        tools.gemm_json(size, threads, args.secs / len(gemm_sizes)))
            for key, model in (("rt_fp32", fp32), ("rt_int8", int8)):
                if key not in rows:
                    continue
                r = tools.bench_json(model, *common, "--batch", "1", "--threads", "1",
                                     "--profile")
                rows[key].add(float(np.mean([g["median_us"] for g in r["per_graph"]])),
                              float(np.mean([g["min_us"] for g in r["per_graph"]])))
                rows[key].max_diff = r["max_abs_diff_expected"]
                rows[key].agreement = r["argmax_agreement"]
                profiles.setdefault(key, []).append(r["profile"])
            for key, model, threads in (("rt_fp32_b", fp32, 1), ("rt_fp32_b2", fp32, 2),
                                        ("rt_int8_b", int8, 1)):
                if key not in rows:
                    continue
                r = tools.bench_json(model, *common, "--batch", str(batch), "--threads",
                                     str(threads), "--profile")
                rows[key].add(r["latency_us"]["median"] / batch, r["latency_us"]["min"] / batch)
                rows[key].max_diff = r["max_abs_diff_expected"]
                rows[key].agreement = r["argmax_agreement"]
                profiles.setdefault(key, []).append(r["profile"])
            # Graphs split across threads: 2 interpreters on 2 threads against
            # 1 interpreter on 1 thread, in the same diffpool-bench run
            # (wall-clock throughput; no per-call latency, so median = min).
            r = tools.bench_json(fp32, *common, "--batch", str(batch), "--threads", "1",
                                 "--interpreters", "2")
            split = r["interpreters"]
            rows["rt_fp32_bi2"].add(1e6 / split["all_graphs_per_s"],
                                    1e6 / split["all_graphs_per_s"])
            rows["rt_fp32_bi2"].max_diff = r["max_abs_diff_expected"]
            rows["rt_fp32_bi2"].agreement = r["argmax_agreement"]
            split_rounds.append(split)
            for key, call in (("eager", lambda g: net(g.x[None], g.adj[None])),
                              ("script", lambda g: scripted[g.n](g.x[None], g.adj[None])),
                              ("dyn_int8", lambda g: quantized(g.x[None], g.adj[None]))):
                samples, outputs = pt.time_batch1(call, dense, args.secs)
                rows[key].add(float(np.mean([np.median(t) for t in samples])),
                              float(np.mean([np.min(t) for t in samples])))
                check(rows[key], outputs)
            for key, model in (("padded", net), ("padded_losses", net_losses)):
                samples, outputs = pt.time_batches(model, padded_batches, args.secs)
                rows[key].add(float(np.median(samples)) / batch, float(np.min(samples)) / batch)
                per_graph = np.zeros((len(records), outputs[0].shape[1]))
                for b, out in zip(batches, outputs):
                    per_graph[b] = out
                check(rows[key], per_graph)
            print(f"  round {round_index + 1}/{args.rounds} done, load {load_average()}")

        for row in rows.values():
            if row.max_diff is None:
                continue
            int8_row = "int8" in row.name
            bound = INT8_TOLERANCE if int8_row else FP32_TOLERANCE
            if not row.max_diff <= bound:
                failures.append(f"{row.name}: max |output - reference| {row.max_diff:.3g} "
                                f"> {bound}")
            agree, total = row.agreement
            if int8_row and agree < INT8_MIN_AGREEMENT * total:
                failures.append(f"{row.name}: predicts the reference's class for {agree} of "
                                f"{total} graphs")

        # FLOP formula: this count against diffpool-bench's per-op count on the
        # lowered model, for one graph.
        one = os.path.join(work, "one.json")
        with open(one, "w") as f:
            json.dump({"format": "diffpool-graphs", "version": 1,
                       "num_features": config["num_features"], "graphs": [records[0]]}, f)
        counted = tools.bench_json(fp32, "--graphs", one, "--batch", "1", "--threads", "1",
                                   "--min-secs", "0", "--min-runs", "1", "--profile")
        ours = graph_flops[0]
        theirs = counted["profile"]["flops_last_call"]
        if abs(ours - theirs) > 0.01 * ours:
            failures.append(f"FLOPs of {records[0].get('name', 'graph 0')}: formula {ours:.0f}, "
                            f"diffpool-bench --profile {theirs:.0f}")

        torch_gemm = pt.gemm_gflops(gemm_sizes[0], args.secs)
        # The ceiling: the fastest run of any size and round (a loaded machine
        # only ever makes a GEMM slower).
        ceiling = {t: max(g["best_gflops"] for g in v) for t, v in ceilings.items()}
        if ceiling[2] < ceiling[1]:
            # Every 2-thread GEMM waited for a busy second CPU; two threads
            # can always do what one does, so one thread's ceiling bounds it.
            print(f"  2-thread GEMMs peaked at {ceiling[2]:.1f} GFLOP/s, below 1 thread's "
                  f"{ceiling[1]:.1f}: the second CPU was busy; using {ceiling[1]:.1f}")
            ceiling[2] = ceiling[1]
        env["load_after"] = load_average()
        report_table(rows, ceiling, ceilings, torch_gemm, env, batch)
        profiles = {key: best_profile(runs) for key, runs in profiles.items()}
        for key, title in (("rt_fp32", "fp32, batch 1"), ("rt_fp32_b", f"fp32, batch {batch}"),
                           ("rt_fp32_b2", f"fp32, batch {batch}, 2 threads"),
                           ("rt_int8", "int8, batch 1"), ("rt_int8_b", f"int8, batch {batch}")):
            if key in profiles:
                report_profile(title, profiles[key])
        report_targets(rows, ceiling, split_rounds)
        sweep = run_sweep(tools, weights_path, config, work, calibration, ceiling[1], args)
        if args.plot:
            plot_sweep(sweep, args.plot, env)
            print(f"wrote {args.plot}")
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump({"environment": env, "batch": batch, "ceiling_gflops": ceiling,
                           "gemm_runs": ceilings, "torch_mm_gflops": torch_gemm,
                           "rows": {k: r.summary() for k, r in rows.items()},
                           "profiles": profiles, "sweep": sweep, "failures": failures,
                           "interpreters": split_rounds},
                          f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\nFAILED checks:\n  " + "\n  ".join(failures))
        return 1
    print("\nchecks passed: every variant reproduces graphs.json's reference outputs; "
          "the FLOP formula agrees with diffpool-bench --profile")
    return 0


# --- Reports ---------------------------------------------------------------------

def report_table(rows, ceiling, gemm_runs, torch_gemm, env, batch):
    base, base_min = rows["eager"].us, rows["eager"].us_min
    sizes = sorted({g["m"] for g in gemm_runs[1]}, reverse=True)
    print(f"\nCeiling: XNNPACK fp32 GEMM ({', '.join(f'{m}^3' for m in sizes)}; fastest run): "
          f"{ceiling[1]:.1f} GFLOP/s on 1 thread, {ceiling[2]:.1f} on 2; "
          f"PyTorch torch.mm {sizes[0]}^3: {torch_gemm:.1f} GFLOP/s")
    print(f"Load average before {env['load_before']}, after {env['load_after']}; "
          f"best of {len(rows['eager'].medians)} round(s); batch {batch}\n")
    header = ("| variant | thr | batch | us/graph | us/graph (min) | graphs/s | x eager b1 "
              "| x eager b1 (min) | GFLOP/s | of ceiling | spread | max diff |")
    print(header)
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for row in rows.values():
        gflops = row.flops / (row.us * 1e3)
        diff = "-" if row.max_diff is None else (
            f"{row.max_diff:.1e}" + (f", {row.agreement[0]}/{row.agreement[1]}"
                                     if "int8" in row.name else ""))
        print(f"| {row.name} | {row.threads} | {row.batch} | {row.us:.2f} | {row.us_min:.2f} "
              f"| {1e6 / row.us:.0f} | {base / row.us:.1f} | {base_min / row.us_min:.1f} "
              f"| {gflops:.2f} | {100 * gflops / ceiling[row.threads]:.1f}% | {row.spread:.2f} "
              f"| {diff} |" + (f" {row.note}" if row.note else ""))
    print("\nus/graph: batch 1: mean over the graphs of each graph's median (min) latency; "
          "batched: median (min) batch latency / batch; best round. spread: worst / best "
          "round. GFLOP/s: useful FLOPs (compare_speed_flops.py; "
          f"{rows['rt_fp32'].flops / 1e6:.2f} MFLOP per graph on average) / median time; "
          "ceiling: the GEMM on the same number of threads.")


def best_profile(runs):
    """One profile from the rounds' profiles: each op's (and each gap's)
    smallest median, the least disturbed by other load."""
    best = dict(runs[0])
    best["rounds"] = len(runs)
    best["calls"] = sum(r["calls"] for r in runs)
    for field in ("before_ops_us", "after_ops_us", "median_call_us", "unprofiled_median_us"):
        best[field] = min(r[field] for r in runs)
    best["ops"] = [dict(op, us=min(r["ops"][i]["us"] for r in runs),
                        gflops=max(r["ops"][i]["gflops"] for r in runs))
                   for i, op in enumerate(runs[0]["ops"])]
    best["sum_of_medians_us"] = (best["before_ops_us"] + best["after_ops_us"] +
                                 sum(op["us"] for op in best["ops"]))
    return best


def report_profile(title, profile):
    total = profile["sum_of_medians_us"]
    print(f"\nPer-op profile, {title} ({profile['calls']} calls in {profile['rounds']} "
          f"round(s), each op's best round; sum of per-op medians "
          f"{total:.2f} us; median call {profile['median_call_us']:.2f} us profiled, "
          f"{profile['unprofiled_median_us']:.2f} us not):")
    by_kind = {}
    for op in profile["ops"]:
        entry = by_kind.setdefault(op["kind"], [0.0, 0.0, 0])
        entry[0] += op["us"]
        entry[1] += op["flops"]
        entry[2] += 1
    by_kind["(before op 0)"] = [profile["before_ops_us"], 0.0, 1]
    by_kind["(after last op)"] = [profile["after_ops_us"], 0.0, 1]
    for kind, (us, flops, count) in sorted(by_kind.items(), key=lambda kv: -kv[1][0]):
        rate = f"{flops / (us * 1e3):6.1f} GFLOP/s" if flops else ""
        print(f"  {kind:<16} {count:>3} ops {us:>9.2f} us {100 * us / total:>5.1f}%  {rate}")
    top = sorted(profile["ops"], key=lambda op: -op["us"])[:8]
    print("  slowest ops: " + "; ".join(
        f"{op['output']} ({op['kind']}, {op['rows']}x{op['cols']}"
        f"{', K=' + str(op['gemm_k']) if op['gemm_k'] else ''}) {op['us']:.2f} us" for op in top))


def report_targets(rows, ceiling, split_rounds=()):
    """Each target from the medians and, in brackets, from the minimums."""
    def ratio(a, b):
        return rows[a].us / rows[b].us, rows[a].us_min / rows[b].us_min

    def eff(key):
        r = rows[key]
        return tuple(100 * r.flops / (t * 1e3) / ceiling[r.threads] for t in (r.us, r.us_min))
    targets = [
        ("fp32 batch 1 vs PyTorch eager", ratio("eager", "rt_fp32"), 50, "x"),
        ("fp32 batch 1 vs TorchScript", ratio("script", "rt_fp32"), 30, "x"),
        ("FLOP efficiency, fp32 batch 1", eff("rt_fp32"), 50, "%"),
        ("FLOP efficiency, fp32 batched", eff("rt_fp32_b"), 70, "%"),
    ]
    if "rt_int8" in rows:
        targets.append(("int8 vs fp32, batch 1", ratio("rt_fp32", "rt_int8"), 1.2, "x"))
        targets.append(("int8 vs fp32, batched", ratio("rt_fp32_b", "rt_int8_b"), 1.2, "x"))
    targets.append(("2 threads vs 1, batched throughput", ratio("rt_fp32_b", "rt_fp32_b2"),
                    1.7, "x"))
    print("\nTargets (MUTAG model, one thread unless stated; from medians [from minimums]; "
          "met only if both are):")
    for name, (value, value_min), target, unit in targets:
        met = min(value, value_min) >= target
        print(f"  {name:<36} {value:>8.2f}{unit} [{value_min:.2f}{unit}]  target >= "
              f"{target}{unit}  {'met' if met else 'NOT met'}")
    if "rt_int8" not in rows:
        print("  int8 vs fp32                         n/a: no int8 model (see above)")
    if split_rounds:
        # Not the target's measurement (that is the row above: one RunBatch
        # whose ops split their rows over a 2-thread pool); the alternative
        # of one interpreter per thread, each with its own graphs.
        best = (max(r["all_graphs_per_s"] for r in split_rounds) /
                max(r["one_graphs_per_s"] for r in split_rounds))
        per_round = " ".join(f"{r['ratio']:.2f}" for r in split_rounds)
        print(f"  2 threads vs 1, per-thread interpreters {best:>5.2f}x (per round {per_round}): "
              "graphs split across 2 interpreters, each without a threadpool; wall-clock "
              "throughput against 1 interpreter in the same diffpool-bench run")


# --- Sweep over graph sizes ------------------------------------------------------

def run_sweep(tools, weights_path, config, work, calibration, ceiling, args):
    """Latency against node count (molecule-like random graphs), the same
    weights converted with max_nodes = the largest size."""
    sizes = [10, 40] if args.quick else SWEEP_SIZES
    big = dict(config, max_nodes=max(sizes))
    big_config = os.path.join(work, "config_big.json")
    with open(big_config, "w") as f:
        json.dump(big, f)
    models = {"fp32": os.path.join(work, "big_fp32.dpm")}
    tools.convert_model(big_config, weights_path, models["fp32"])
    int8 = os.path.join(work, "big_int8.dpm")
    if not tools.convert_int8(big_config, weights_path, int8, calibration):
        models["int8"] = int8
    count = 2 if args.quick else 4
    secs = "0.02" if args.quick else "0.5"
    sweep = {"sizes": sizes, "ceiling_gflops": ceiling, "models": {}}
    print(f"\nLatency against node count (batch 1, 1 thread, {count} random graphs per size; "
          "each graph's fastest call, then the mean over the graphs: calls of milliseconds "
          "are preempted on a loaded machine, which inflates their medians):")
    print(f"  {'nodes':>6} " + " ".join(f"{name + ' us':>12}" for name in models) +
          f" {'fp32 median':>12} {'MFLOP':>9} {'fp32 GFLOP/s':>13}")
    results = {name: [] for name in models}
    medians = {name: [] for name in models}
    flops = []
    for n in sizes:
        line = f"  {n:>6} "
        for name, model in models.items():
            r = tools.bench_json(model, "--random", str(count), "--nodes", f"{n}..{n}",
                                 "--batch", "1", "--threads", "1", "--min-secs", secs,
                                 "--min-runs", "5", "--warmup-secs", "0.05")
            us = float(np.mean([g["min_us"] for g in r["per_graph"]]))
            results[name].append(us)
            medians[name].append(float(np.mean([g["median_us"] for g in r["per_graph"]])))
            if name == "fp32":
                flops.append(float(np.mean([forward_flops(config, g["nodes"], g["edges"])
                                            for g in r["per_graph"]])))
            line += f"{us:>12.1f} "
        print(line + f"{medians['fp32'][-1]:>12.1f} {flops[-1] / 1e6:>9.2f} "
              f"{flops[-1] / (results['fp32'][-1] * 1e3):>13.2f}")
    sweep["models"] = results
    sweep["medians"] = medians
    sweep["flops"] = flops
    return sweep


def plot_sweep(sweep, path, env):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = np.array(sweep["sizes"])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, us in sweep["models"].items():
        ax.loglog(sizes, us, "o-", label=f"diffpool-rt {name}")
    bound = np.array(sweep["flops"]) / (sweep["ceiling_gflops"] * 1e3)
    ax.loglog(sizes, bound, "k--", label="useful FLOPs at the GEMM ceiling")
    ax.set_xlabel("nodes per graph (molecule-like, ~2.2 directed edges per node)")
    ax.set_ylabel("latency per graph (us, fastest of its calls)")
    ax.set_title("Latency against graph size, batch 1, 1 thread")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    us = np.array(sweep["models"]["fp32"])
    ax2.semilogx(sizes, 100 * bound / us, "o-", label="fp32")
    if "int8" in sweep["models"]:
        ax2.semilogx(sizes, 100 * bound / np.array(sweep["models"]["int8"]), "o-",
                     label="int8 (fp32 ceiling)")
    ax2.set_xlabel("nodes per graph")
    ax2.set_ylabel("% of the fp32 GEMM ceiling")
    ax2.set_ylim(0, 100)
    ax2.set_title("Useful FLOP efficiency")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend()
    fig.suptitle(f"MUTAG DiffPool weights (max_nodes {max(sweep['sizes'])}), {env['cpu']}, "
                 f"{env['date'][:10]}, load {env['load_before']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
