#!/usr/bin/env bash
# The test command: dependencies, configure, build, every test. GPU tests run where a GPU is
# usable and are reported as skipped elsewhere. A second, CUDA-free build (preset asan, in
# build/asan) runs every test again under AddressSanitizer and UndefinedBehaviorSanitizer
# (docs/RELIABILITY.md).
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

echo "== CPU-only build under AddressSanitizer + UndefinedBehaviorSanitizer (preset asan): every test"
# CUDA-free, so it also proves the CPU engine stands on its own; any sanitizer report fails a test.
cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"
