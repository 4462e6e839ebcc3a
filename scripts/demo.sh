#!/usr/bin/env bash
# The main job: convert the shipped MUTAG checkpoint into a .dpm model and
# score the shipped example graphs with it (per-graph class probabilities,
# cluster assignments and latency).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh
build/converter/diffpool-convert \
  --config examples/mutag/config.json \
  --weights examples/mutag/model.safetensors \
  --test-vectors examples/mutag/graphs.json \
  --out build/mutag.dpm
build/examples/diffpool-score build/mutag.dpm examples/mutag/graphs.json --self-test --assignments
