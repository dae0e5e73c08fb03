#!/usr/bin/env bash
# The recipe of the shipped emotion models, on one CUDA GPU (H200 here).
# Trains the accuracy model (vgg-m) and the fast CPU model (vgg-s) side by
# side, each with and without class weighting, inside a time budget.
# Usage: bash training/recipes/gpu.sh OUT_DIR [MINUTES]
set -euo pipefail
out=${1:?output folder}
minutes=${2:-6}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
# extract and cache the data once, before the parallel runs read it
$py -c "from training import data as d; d.load_split('train'); d.load_split('test')"
run() {  # name arch class-weights
  $py -m training.train --arch "$2" --class-weights "$3" --epochs 300 --batch-size 128 --lr 0.05 \
    --optimizer sgd --weight-decay 5e-4 --warmup-epochs 3 --seed 1 --threads 3 --no-progress \
    --max-minutes "$minutes" --version "2026.11-$1" --out "$out/$1" > "$out/$1.log" 2>&1
}
run vgg-m-plain vgg-m none &
run vgg-m-sqrt vgg-m sqrt &
run vgg-s-plain vgg-s none &
run vgg-s-sqrt vgg-s sqrt &
wait
