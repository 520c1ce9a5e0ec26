#!/usr/bin/env bash
# The test command: dependencies, then every test in three builds, all warnings as errors:
#   1. preset emu: the CPU engine and the CUDA code compiled for the host against the emulated
#      device (cuseg/emu), so every GPU test, seg_verify --device cuda and the CPU-vs-CUDA
#      training step run on every machine;
#   2. preset emu-tsan: the GPU tests again under ThreadSanitizer, each CUDA thread an OS thread
#      (a missing __syncthreads is a reported race);
#   3. preset emu-asan: every test under AddressSanitizer + UndefinedBehaviorSanitizer (a device
#      access past a buffer is a report).
# Where nvcc is installed, a real CUDA build (sm_90) is compiled and tested first; its GPU tests
# run where a GPU is usable and are reported as skipped elsewhere.
#   BUILD_DIR  the real CUDA build's folder (default build/test)
#   JOBS       parallel jobs (default: all cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/test}
jobs=${JOBS:-$(nproc)}

scripts/deps.sh

if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "== real CUDA build (nvcc found), warnings as errors"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_WERROR=ON -DCUSEG_CUDA=ON
  cmake --build "$build" -j "$jobs"
  ctest --test-dir "$build" -j "$jobs" --output-on-failure
else
  echo "== no nvcc here: the real CUDA build is skipped; the emulated one below runs the CUDA code"
fi

echo "== emulated CUDA build (preset emu): every test, GPU tests on the emulated H100"
cmake --preset emu
cmake --build --preset emu -j "$jobs"
ctest --preset emu -j "$jobs"

echo "== emulated CUDA under ThreadSanitizer (preset emu-tsan): the GPU tests"
# The row-tile test launches 65536 blocks: as 256 OS threads each under TSan it would take an
# hour, and the plain emulated stage has run it. Everything else with label gpu runs.
cmake --preset emu-tsan
cmake --build --preset emu-tsan -j "$jobs"
ctest --preset emu-tsan -j "$jobs" -L gpu -E "RunsMoreRowTilesThanTheGridYLimit|seg_verify_cuda"

echo "== emulated CUDA under AddressSanitizer + UndefinedBehaviorSanitizer (preset emu-asan): every test"
# Less the row-tile test and seg_verify --device cuda, which the plain emulated stage ran: the
# first is 65536 blocks, the second repeats EveryOpGpu's cases.
cmake --preset emu-asan
cmake --build --preset emu-asan -j "$jobs"
ctest --preset emu-asan -j "$jobs" -E "RunsMoreRowTilesThanTheGridYLimit|seg_verify_cuda"
