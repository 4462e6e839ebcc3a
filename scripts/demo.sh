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

# The same checkpoint as an int8 model (docs/quantization.md), scored on the
# same graphs. Calibrated on MUTAG's fold-1 training split when ../shared/data
# holds it (the converter then also reports fp32 vs int8 on held-out fold 1),
# else on the example graphs.
if [ -f ../shared/data/tu/MUTAG/MUTAG.txt ]; then
  int8_data=(--calibration ../shared/data/tu/MUTAG --calibration-split train-1
             --evaluate ../shared/data/tu/MUTAG --evaluate-split test-1)
else
  int8_data=(--calibration examples/mutag/graphs.json)
fi
build/converter/diffpool-convert \
  --config examples/mutag/config.json \
  --weights examples/mutag/model.safetensors \
  --test-vectors examples/mutag/graphs.json \
  --quantize int8 "${int8_data[@]}" \
  --out build/mutag_int8.dpm
build/examples/diffpool-score build/mutag_int8.dpm examples/mutag/graphs.json --self-test

# Molecules: the BBBP model (examples/bbbp: DiffPool trained on MoleculeNet
# BBBP, blood-brain-barrier penetration) converted to int8 with its
# calibration SMILES, then molscore (docs/molscore.md) scores held-out
# molecules straight from SMILES on the device, and draws propranolol with
# each atom colored by its level-1 DiffPool cluster.
build/converter/diffpool-convert \
  --config examples/bbbp/config.json \
  --weights examples/bbbp/model.safetensors \
  --test-vectors examples/bbbp/graphs.json \
  --quantize int8 --calibration examples/bbbp/calibration.smi \
  --out build/bbbp_int8.dpm
build/examples/molscore/molscore build/bbbp_int8.dpm --file examples/bbbp/molecules.smi
build/examples/molscore/molscore build/bbbp_int8.dpm "CC(C)NCC(O)COc1cccc2ccccc12 propranolol" \
  --explain build/propranolol_clusters.svg
