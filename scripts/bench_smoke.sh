#!/usr/bin/env bash
# CI smoke test of the benchmark tools (docs/benchmarks.md): diffpool-bench
# on 5 random graphs (batch 1 with --profile, then batched on 2 threads) and
# on the shipped graphs, and diffpool-gemm-peak on a small GEMM. Checks that
# each report is complete and self-consistent (counts, ordered percentiles,
# outputs matching the reference, the profile covering every op); it never
# checks a time against a threshold.
#   scripts/bench_smoke.sh [BUILD_DIR]    (default: build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
python="${DIFFPOOL_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$build/converter/diffpool-convert" --config "$root/examples/mutag/config.json" \
  --weights "$root/examples/mutag/model.safetensors" --out "$work/mutag.dpm" >/dev/null
bench="$build/tools/bench/diffpool-bench"
quick=(--min-secs 0.02 --warmup-secs 0.01 --min-runs 10)
"$bench" "$work/mutag.dpm" --random 5 --batch 1 --threads 1 --profile --json "${quick[@]}" \
  >"$work/b1.json" 2>"$work/b1.txt"
"$bench" "$work/mutag.dpm" --random 5 --threads 2 --interpreters 2 --json "${quick[@]}" \
  >"$work/batched.json" 2>"$work/batched.txt"
"$bench" "$work/mutag.dpm" --graphs "$root/examples/mutag/graphs.json" --batch 4 --json \
  "${quick[@]}" >"$work/graphs.json" 2>"$work/graphs.txt"
"$build/tools/gemm_peak/diffpool-gemm-peak" --m 64 --k 64 --n 64 --min-secs 0 --json \
  >"$work/gemm.json"
"$build/tools/gemm_peak/diffpool-gemm-peak" --shapes 7x14x64,30x128x2 --type both --with-setup \
  --min-secs 0 --json >"$work/gemm_both.jsonl"

"$python" - "$work" "$(stat -c %s "$work/mutag.dpm")" <<'PY'
import json, sys
work, model_bytes = sys.argv[1], int(sys.argv[2])
def load(name):
    with open(f"{work}/{name}") as f:
        return json.load(f)
problems = []
def expect(ok, what):
    if not ok:
        problems.append(what)
for name in ("b1.json", "batched.json", "graphs.json"):
    r = load(name)
    lat = r["latency_us"]
    expect(0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"],
           f"{name}: percentiles out of order {lat}")
    expect(lat["count"] >= 10, f"{name}: {lat['count']} timed calls, asked for >= 10")
    expect(r["throughput_graphs_per_s"] > 0, f"{name}: throughput")
    expect(r["model_bytes"] == model_bytes, f"{name}: model_bytes {r['model_bytes']} != {model_bytes}")
    expect(0 < r["arena_used_bytes"] <= r["arena_bytes"], f"{name}: arena bytes")
    expect(r["init_us"] > 0, f"{name}: init time")
    expect(r["cpu"]["cores"] >= 1 and r["cpu"]["l2_bytes"] > 0, f"{name}: cpuinfo report {r['cpu']}")
b1 = load("b1.json")
expect(b1["graphs"]["count"] == 5 and b1["batch"] == 1 and b1["threads"] == 1, "b1: settings")
expect(len(b1["per_graph"]) == 5 and all(g["median_us"] > 0 for g in b1["per_graph"]),
       "b1: per-graph latencies")
expect(all(10 <= g["nodes"] <= 28 for g in b1["per_graph"]), "b1: random sizes outside 10..28")
expect(all(1.0 <= g["edges"] / g["nodes"] <= 3.0 for g in b1["per_graph"] if g["nodes"] >= 10),
       "b1: random graphs not molecule-like (directed edges per node outside [1, 3])")
p = b1["profile"]
expect(len(p["ops"]) > 10 and all(op["us"] >= 0 for op in p["ops"]), "b1: profile ops")
expect(any(op["kind"] == "GRAPH_CONV" and op["flops"] > 0 for op in p["ops"]), "b1: profile FLOPs")
expect({"GRAPH_CONV", "DIFF_POOL", "LINEAR", "SOFTMAX"} <= {op["kind"] for op in p["ops"]},
       "b1: profile misses op kinds")
batched = load("batched.json")
expect(batched["threads"] == 2 and batched["batch_default"] and batched["batch"] >= 1,
       "batched: settings")
graphs = load("graphs.json")
expect(graphs["max_abs_diff_expected"] is not None and graphs["max_abs_diff_expected"] <= 1e-4,
       f"graphs: outputs differ from the reference by {graphs['max_abs_diff_expected']}")
agree, total = graphs["argmax_agreement"]
expect(total == graphs["graphs"]["count"] and agree == total,
       f"graphs: predicted class differs from the reference on {total - agree} of {total} graphs")
gemm = load("gemm.json")
expect(gemm["best_gflops"] >= gemm["median_gflops"] > 0 and gemm["m"] == 64, "gemm report")
with open(f"{work}/gemm_both.jsonl") as f:
    both = [json.loads(line) for line in f]
expect([(g["type"], g["m"], g["k"], g["n"]) for g in both] ==
       [("f32", 7, 14, 64), ("qc8", 7, 14, 64), ("f32", 30, 128, 2), ("qc8", 30, 128, 2)] and
       all(g["best_gflops"] >= g["median_gflops"] > 0 and g["with_setup"] for g in both),
       f"gemm --type both report {both}")
split = batched.get("interpreters") or {}
expect(split.get("count") == 2 and split.get("one_graphs_per_s", 0) > 0 and
       split.get("all_graphs_per_s", 0) > 0, f"batched: --interpreters 2 report {split}")
if problems:
    print("bench_smoke: FAILED\n  " + "\n  ".join(problems))
    sys.exit(1)
print("bench_smoke: diffpool-bench and diffpool-gemm-peak reports are complete and consistent")
PY
