#!/usr/bin/env bash
# 10-fold cross-validation of the reference DiffPool trainer on the TU
# benchmarks, with the settings of docs/training.md (long: hours on 2 cores;
# not part of CI). Results go to out/cv/DS/{summary.json,curves.png,fold-K/}.
#   scripts/train_tu_benchmarks.sh                   all five datasets
#   scripts/train_tu_benchmarks.sh PROTEINS ENZYMES  some of them
# Environment: DATA (default ../shared/data/tu), OUT (default out/cv),
# JOBS (folds in parallel, default 2), RESUME=1 (reuse the fold directories
# an interrupted run completed with the same settings: crossval --resume),
# NICE (nice level of the training processes, default 0).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${DATA:-../shared/data/tu}"
out="${OUT:-out/cv}"
jobs="${JOBS:-2}"
resume=()
[[ "${RESUME:-0}" == 1 ]] && resume=(--resume)

# Per-dataset options on top of the trainer's defaults (Adam lr 1e-3, weight
# decay 1e-3, batch 20, clip 2.0, link and entropy weights 1, hidden =
# embedding = lin_hidden = 64, 2 pooling levels of 25%).
declare -A options=(
  [MUTAG]="--epochs 300 --patience 60"
  [PTC]="--epochs 200 --patience 50"
  [PROTEINS]="--cluster-nodes 150 --epochs 100 --patience 30 --select loss"
  [ENZYMES]="--epochs 200 --patience 60"
  [NCI1]="--epochs 50 --patience 15"
)
datasets=("$@")
[[ ${#datasets[@]} -gt 0 ]] || datasets=(MUTAG PTC PROTEINS ENZYMES NCI1)
for ds in "${datasets[@]}"; do
  [[ -n "${options[$ds]+set}" ]] || { echo "unknown dataset $ds" >&2; exit 2; }
  [[ -d "$data/$ds" ]] || { echo "$data/$ds not found (see ../shared/data/README.md)" >&2; exit 1; }
  # shellcheck disable=SC2086
  PYTHONPATH=reference nice -n "${NICE:-0}" /usr/bin/python3 -m diffpool_ref.crossval \
    "$data/$ds" ${options[$ds]} --jobs "$jobs" "${resume[@]}" --out "$out/$ds"
done
