#!/usr/bin/env python3
"""int8 against fp32 GEMMs on XNNPACK at the MUTAG model's exact GEMM shapes.

Runs diffpool-gemm-peak --type both --with-setup (xnn_setup + xnn_run per
call, as the runtime calls them) on every GEMM shape of one forward pass of
examples/mutag (rows 24 / 7 / 2 / 1 at batch 1, an average graph's levels;
787 / 280 / 80 / 40 at batch 40, a batch of the shipped graphs), and on three
large cubes. For each shape: fp32 GFLOP/s, qc8 GOP/s (xnn_create_convolution2d
_nhwc_qc8 1x1, the per-channel int8 GEMM the int8 models run) and the ratio;
then the pass's GEMM time summed over its ops for both types. That sum is the
most the int8 GEMMs can save: if qc8's GEMM time is T8 and fp32's T32, int8
end to end is at most 1.2x fp32 only if everything else saves the rest.

  scripts/compare_speed_int8_gemm.py [--build-dir build] [--secs 0.3]
      [--threads 1] [--input FILE.jsonl] [--json-out FILE]
--input reads the tool's JSON lines from an earlier run (another machine)
instead of running it.
"""

import argparse
import json
import os
import subprocess
import sys
import time

# (rows, K, N, ops in one pass): the MUTAG model's GEMMs (7 features,
# hidden 64, embedding 64, clusters 7 then 2; docs/benchmarks.md "FLOPs").
# A SAGE conv's GEMM has K = 2 * in ([aggregate | x]).
def model_gemms(level_rows, graphs):
    r1, r2, r3 = level_rows
    return [
        (r1, 14, 64, 2),    # gnn1 pool/embed conv1
        (r1, 128, 64, 3),   # gnn1 pool conv2, embed conv2, conv3
        (r1, 128, 7, 1),    # gnn1 pool conv3 (out = 7 clusters)
        (r1, 135, 7, 1),    # gnn1 pool lin
        (r2, 384, 64, 2),   # gnn2 pool/embed conv1 (in = 192)
        (r2, 128, 64, 3),
        (r2, 128, 2, 1),    # gnn2 pool conv3 (out = 2 clusters)
        (r2, 130, 2, 1),    # gnn2 pool lin
        (r3, 384, 64, 1),   # gnn3 embed conv1
        (r3, 128, 64, 2),
        (graphs, 192, 64, 1),  # lin1
        (graphs, 64, 2, 1),    # lin2
    ]


PASSES = {"batch 1 (24 nodes)": (model_gemms((24, 7, 2), 1), 1),
          "batch 40 (787 nodes)": (model_gemms((787, 280, 80), 40), 40)}
LARGE = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--secs", type=float, default=0.3, help="per shape and type")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--input", help="JSON lines of an earlier diffpool-gemm-peak run")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    shapes = sorted({(m, k, n) for gemms, _ in PASSES.values() for m, k, n, _ in gemms} |
                    set(LARGE))
    load_before = os.getloadavg()
    if args.input:
        with open(args.input) as f:
            lines = [json.loads(line) for line in f if line.strip().startswith("{")]
    else:
        tool = os.path.join(args.build_dir, "tools", "gemm_peak", "diffpool-gemm-peak")
        if not os.access(tool, os.X_OK):
            sys.exit(f"compare_speed_int8_gemm: {tool} not found (build the tools)")
        cmd = [tool, "--type", "both", "--with-setup", "--threads", str(args.threads),
               "--min-secs", str(args.secs), "--json",
               "--shapes", ",".join(f"{m}x{k}x{n}" for m, k, n in shapes)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    by = {(r["type"], r["m"], r["k"], r["n"]): r for r in lines}
    missing = [s for s in shapes for t in ("f32", "qc8") if (t, *s) not in by]
    if missing:
        sys.exit(f"compare_speed_int8_gemm: no result for {missing[:4]}")
    if args.input:
        where = f"results read from {args.input} (its machine's time and load not known here)"
    else:
        where = (f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, load "
                 f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
                 f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after, "
                 f"{args.threads} thread(s)")
    print(f"compare_speed_int8_gemm: {where}; xnn_setup + xnn_run per call; median call")
    print("\n| M | K | N | fp32 us | fp32 GFLOP/s | qc8 us | qc8 GOP/s | qc8 / fp32 speed |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|")
    for m, k, n in shapes:
        f, q = by[("f32", m, k, n)], by[("qc8", m, k, n)]
        print(f"| {m} | {k} | {n} | {f['median_s'] * 1e6:.2f} | {f['median_gflops']:.1f} "
              f"| {q['median_s'] * 1e6:.2f} | {q['median_gflops']:.1f} "
              f"| {f['median_s'] / q['median_s']:.2f}x |")
    summary = {}
    print("\nOne forward pass's GEMMs (each shape's median call times its number of ops):")
    for name, (gemms, graphs) in PASSES.items():
        t32 = sum(c * by[("f32", m, k, n)]["median_s"] for m, k, n, c in gemms) * 1e6
        t8 = sum(c * by[("qc8", m, k, n)]["median_s"] for m, k, n, c in gemms) * 1e6
        summary[name] = {"fp32_us": t32, "qc8_us": t8, "graphs": graphs}
        print(f"  {name}: fp32 {t32:.2f} us, qc8 {t8:.2f} us ({t32 / graphs:.2f} / "
              f"{t8 / graphs:.2f} us per graph): qc8 GEMMs {t32 / t8:.2f}x fp32's, "
              f"saving {t32 - t8:.2f} us")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"runs": lines, "passes": summary, "load_before": load_before,
                       "load_after": os.getloadavg()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
