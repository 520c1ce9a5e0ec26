#!/usr/bin/env bash
# The test command: dependencies, then every test in three builds, all warnings as errors:
#   1. preset emu: the CPU engine and the CUDA code compiled for the host against the emulated
#      device (cuseg/emu), so every GPU test, seg_verify --device cuda and the CPU-vs-CUDA
#      training step run on every machine;
#   2. preset emu-tsan: the emulator's tests and the block-reduction and warp-shuffle kernels under
#      ThreadSanitizer, CUDA threads as OS threads (a missing __syncthreads is a reported race);
#   3. preset emu-asan: every test under AddressSanitizer + UndefinedBehaviorSanitizer (a device
#      access past a buffer is a report), the registry's U-Net-sized GPU cases left to stage 1.
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

echo "== emulated CUDA under ThreadSanitizer (preset emu-tsan): the emulator's tests and block reductions"
# Under TSan the first two blocks of every grid run as 256 OS threads, where a missing
# __syncthreads is a reported race; that costs minutes per op, so this stage runs the emulator's
# own tests and the ops built on the shared-memory block sum and on warp shuffles. The plain
# emulated stage has run every GPU test.
cmake --preset emu-tsan
cmake --build --preset emu-tsan -j "$jobs" --target emulator_tests kernel_tests
ctest --preset emu-tsan -j "$jobs" -R "EmulatorGpu|EmulatorFaultsGpu|EveryOpGpu.CudaMatchesReference/(reduce_sum|softmax_forward) "

echo "== emulated CUDA under AddressSanitizer + UndefinedBehaviorSanitizer (preset emu-asan): every test"
# Less the row-tile test and seg_verify --device cuda, which the plain emulated stage ran: the
# first is 65536 blocks, the second repeats EveryOpGpu's cases.
cmake --preset emu-asan
cmake --build --preset emu-asan -j "$jobs"
ctest --preset emu-asan -j "$jobs" -E "RunsMoreRowTilesThanTheGridYLimit|seg_verify_cuda"
