#!/usr/bin/env bash
# The test command: dependencies, then every test in five builds, all warnings as errors:
#   1. where nvcc is installed, the real CUDA build (sm_90, cuDNN where found): compiled, and
#      where a GPU is usable, its tests run;
#   2. preset cpu-only: the engine built without CUDA, which must stand on its own;
#   3. preset emu: the CPU engine and the CUDA code compiled for the host against the emulated
#      device (cuseg/emu), so every GPU test, seg_verify --device cuda, the CPU-vs-CUDA training
#      step and the tools (whose `--device auto` finds the emulated GPU) run on every machine;
#   4. preset emu-tsan: the emulator's tests and the block-reduction and warp-shuffle kernels under
#      ThreadSanitizer, CUDA threads as OS threads (a missing __syncthreads is a reported race);
#   5. preset emu-asan: every test under AddressSanitizer + UndefinedBehaviorSanitizer: the GPU
#      tests on the emulated device (a device access past a buffer is a report), the registry's
#      U-Net-sized cases left to stage 3; the CPU tests with the emulated device hidden
#      (CUDA_VISIBLE_DEVICES=), so the tools and the trainer run their CPU path under the
#      sanitizers, their emulated-GPU path having run in stage 3.
#   BUILD_DIR  the real CUDA build's folder (default build/test)
#   JOBS       parallel jobs (default: all cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/test}
jobs=${JOBS:-$(nproc)}

scripts/deps.sh

if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  # Without a GPU its tests would only repeat the CPU tests, which stage 5 runs with CUDA compiled
  # in and no device visible: there it is compiled (library, tools, benchmarks), not tested.
  if nvidia-smi -L >/dev/null 2>&1; then gpu_tests=ON; else gpu_tests=OFF; fi
  echo "== real CUDA build (nvcc found), warnings as errors; tests run (a GPU is usable): $gpu_tests"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_WERROR=ON -DCUSEG_CUDA=ON -DCUSEG_BUILD_TESTS=$gpu_tests
  cmake --build "$build" -j "$jobs"
  if [ "$gpu_tests" = ON ]; then ctest --test-dir "$build" -j "$jobs" --output-on-failure; fi
else
  echo "== no nvcc here: the real CUDA build is skipped; the emulated one below runs the CUDA code"
fi

echo "== CUDA-free build (preset cpu-only): the CPU engine on its own"
cmake --preset cpu-only -DCUSEG_WERROR=ON
cmake --build --preset cpu-only -j "$jobs"
ctest --preset cpu-only -j "$jobs"

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
# The GPU tests on the emulated device, less the row-tile test (65536 blocks) and seg_verify
# --device cuda (EveryOpGpu's cases again), which stage 3 ran. Then the CPU tests with the
# device hidden: on the emulated GPU under ASan the tool tests alone take 20 minutes of CPU.
cmake --preset emu-asan
cmake --build --preset emu-asan -j "$jobs"
ctest --preset emu-asan -j "$jobs" -L gpu -E "RunsMoreRowTilesThanTheGridYLimit|seg_verify_cuda"
CUDA_VISIBLE_DEVICES= ctest --preset emu-asan -j "$jobs" -L cpu
