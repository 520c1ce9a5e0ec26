#!/usr/bin/env bash
# Demo on a fresh machine: install dependencies, build, train unet-s on the built-in synthetic
# dataset (on the GPU if there is one, else on the CPU: well under a minute on 2 cores), predict a few
# images, evaluate, and say where everything is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/demo}
out=${DEMO_OUT:-out/demo}
scripts/deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCUSEG_BUILD_TESTS=OFF -DCUSEG_BUILD_BENCH=OFF -DCUSEG_BUILD_FUZZ=OFF >/dev/null
# Only what the demo runs: four tools, and the Python module where the build makes one.
targets=(seg_train seg_make_synthetic seg_predict seg_eval)
if cmake --build "$build" --target help | grep '^cuseg_python:' >/dev/null; then
  targets+=(cuseg_python)
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
tools="$build/apps"
rm -rf "$out"
mkdir -p "$out"

echo "== seg_train: unet-s on the built-in dataset (synthetic shapes, 4 classes)"
"$tools/seg_train" --out "$out/run"

echo
echo "== seg_predict: a few new images"
"$tools/seg_make_synthetic" --out "$out/images" --train 1 --val 6 --size 64 --seed 2026 >/dev/null
"$tools/seg_predict" --checkpoint "$out/run/best.safetensors" "$out/images/val/images" --out "$out/predictions"

echo
echo "== seg_eval: the validation split"
"$tools/seg_eval" --checkpoint "$out/run/best.safetensors" --json "$out/eval.json"

if ls "$build"/python/cuseg*.so >/dev/null 2>&1; then
  echo
  echo "== Python: the same model from numpy (PYTHONPATH=$build/python)"
  PYTHONPATH="$build/python" /usr/bin/python3 -c "
import cuseg, numpy as np
from PIL import Image
import glob
model = cuseg.load('$out/run/best.safetensors')
path = sorted(glob.glob('$out/images/val/images/*'))[0]
classes = model.predict(np.asarray(Image.open(path).convert('RGB')))
print('cuseg', cuseg.__version__, model.classes, classes.shape, 'pixels per class', np.bincount(classes.ravel(), minlength=len(model.classes)))
"
fi

echo
echo "demo: checkpoints, log.jsonl (one line per epoch) and config.json in $out/run"
echo "      predicted masks and overlays in $out/predictions (inputs in $out/images/val/images)"
echo "      evaluation as JSON in $out/eval.json"
