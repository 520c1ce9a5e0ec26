#!/usr/bin/env bash
# Demo on a fresh machine: install dependencies, build, and run seg_verify — every kernel
# against its float64 reference, on the CPU and on the GPU when there is one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/demo}
scripts/deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_BUILD_TESTS=OFF -DCUSEG_BUILD_BENCH=OFF
cmake --build "$build" -j "$(nproc)"
mkdir -p out/demo
"$build/apps/seg_verify" --json out/demo/seg_verify.json | tee out/demo/seg_verify.txt
echo
echo "demo: the table is in out/demo/seg_verify.txt, the same as JSON in out/demo/seg_verify.json"
