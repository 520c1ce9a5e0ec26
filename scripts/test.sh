#!/usr/bin/env bash
# The test command: dependencies, configure, build, every test. GPU tests run where a GPU is
# usable and are reported as skipped elsewhere. A second, CUDA-free build proves the CPU engine
# stands on its own. (The asan preset runs the CPU suite under AddressSanitizer and
# UndefinedBehaviorSanitizer: docs/RELIABILITY.md.)
#   BUILD_DIR  build folder (default build/test)
#   JOBS       parallel jobs (default: all cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/test}
jobs=${JOBS:-$(nproc)}

scripts/deps.sh

echo "== build (CUDA where available), warnings as errors"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_WERROR=ON
cmake --build "$build" -j "$jobs"
echo "== tests"
ctest --test-dir "$build" -j "$jobs" --output-on-failure

echo "== CPU-only build (CUSEG_CUDA=OFF): library, tests, seg_verify"
cmake -S . -B "$build-cpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_WERROR=ON -DCUSEG_CUDA=OFF \
  -DCUSEG_BUILD_BENCH=OFF
cmake --build "$build-cpu" -j "$jobs"
ctest --test-dir "$build-cpu" -j "$jobs" --output-on-failure
