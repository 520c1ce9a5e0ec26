#!/usr/bin/env bash
# The test command: dependencies, configure, build, every test. GPU tests run where a GPU is
# usable and are reported as skipped elsewhere. A second, CUDA-free build proves the CPU engine
# stands on its own; a third runs the whole CPU suite under AddressSanitizer and
# UndefinedBehaviorSanitizer, where any report fails the test that caused it.
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

echo "== CPU suite under AddressSanitizer + UndefinedBehaviorSanitizer (preset asan)"
cmake --preset asan -B "$build-asan" >/dev/null
cmake --build "$build-asan" -j "$jobs"
ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$build-asan" -j "$jobs" --output-on-failure -L cpu
