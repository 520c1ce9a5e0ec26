#!/usr/bin/env bash
# The test command: dependencies, then the tests in five builds, all warnings as errors; every
# test runs in at least one of them, and each stage runs what only it can check:
#   1. where nvcc is installed, the real CUDA build (sm_90, cuDNN where found): where a GPU is
#      usable, everything, and its tests run; without one, what nvcc compiles or what links the
#      CUDA library (the library, seg_verify, the benchmarks against cuDNN); and, either way, the
#      sm_90 SASS of every kernel against its design (scripts/sass_check.py: no spill, registers
#      and shared memory within its occupancy, tensor cores where it should have them);
#   2. preset cpu-only: the engine built without CUDA, which must stand on its own: every test,
#      the Python module's, the interop oracles' and the data-parallel ones (mpirun -np 2)
#      included; then the mutation check's fast subset in that build (scripts/mutants.sh);
#   3. preset emu: the CPU engine and the CUDA code compiled for the host against the emulated
#      device (cuseg/emu), blocks and lanes in a shuffled order, so every GPU test, seg_verify
#      --device cuda, the CPU-vs-CUDA training
#      step run on every machine, and the tools' and trainer's runs that depend on the device
#      (`--device auto` finds the emulated GPU): train, predict, evaluate, resume bit for bit;
#      its other CPU tests would repeat stage 2 (and run with CUDA compiled in at stage 5);
#   4. preset emu-tsan: the emulator's tests and the block-reduction and warp-shuffle kernels under
#      ThreadSanitizer, CUDA threads as OS threads (a missing __syncthreads is a reported race),
#      and the GEMM, column-reduction, softmax-CE and Dice kernels with blocks side by side (a
#      race between blocks is a reported race);
#   5. preset emu-asan: the library's tests under AddressSanitizer + UndefinedBehaviorSanitizer:
#      the GPU tests on the emulated device (a device access past a buffer is a report), the
#      registry's U-Net-sized cases left to stage 3; the CPU tests with the emulated device hidden
#      (CUDA_VISIBLE_DEVICES=), so the trainer runs its CPU path under the sanitizers, its
#      emulated-GPU path having run in stage 3. Not the command-line tools (stages 2 and 3).
# The outside oracles (PyTorch, onnx, onnxruntime, tensorboard, pytest) come from scripts/deps.sh,
# which without network leaves them out: the tests that need them are then skipped, saying why,
# unless CI=true is in the environment, where they fail (tests/oracle.h), so that a run without
# them cannot pass for a full one. .ci/run sets CI=true; a run by hand does not, unless asked.
#   BUILD_DIR  the real CUDA build's folder (default build/test)
#   JOBS       parallel jobs (default: all cores)
#   CI         true: a missing oracle fails its tests instead of skipping them
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/test}
jobs=${JOBS:-$(nproc)}

scripts/deps.sh
if [ "${CI:-}" = true ]; then
  echo "== CI=true: a missing test oracle (PyTorch, onnx, onnxruntime, tensorboard, pytest) fails its tests"
else
  echo "== CI is not true: a missing test oracle skips its tests (CI=true makes that a failure)"
fi

cpu_bench=ON  # the benchmarks, built once: in the real CUDA build where there is one
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  # Without a GPU its tests would only repeat the CPU tests, which stage 5 runs with CUDA compiled
  # in and no device visible: there it is compiled (the library, seg_verify, the benchmarks).
  if nvidia-smi -L >/dev/null 2>&1; then gpu_tests=ON; else gpu_tests=OFF; fi
  echo "== real CUDA build (nvcc found), warnings as errors; tests run (a GPU is usable): $gpu_tests"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_WERROR=ON -DCUSEG_CUDA=ON -DCUSEG_BUILD_TESTS=$gpu_tests
  if [ "$gpu_tests" = ON ]; then
    cmake --build "$build" -j "$jobs"
    ctest --test-dir "$build" -j "$jobs" --output-on-failure
  else
    # The other tools and the Python module are host C++ that stages 2 and 3 compile as well.
    cmake --build "$build" -j "$jobs" --target cuseg seg_verify benchmarks
  fi
  echo "== what nvcc made (scripts/sass_check.py): spills, registers, shared memory and tensor cores per kernel"
  /usr/bin/python3 scripts/sass_check.py --self-test "$build"
  /usr/bin/python3 scripts/sass_check.py "$build/cuseg/libcuseg.so"
  cpu_bench=OFF
else
  echo "== no nvcc here: the real CUDA build is skipped; the emulated one below runs the CUDA code"
fi

echo "== CUDA-free build (preset cpu-only): the CPU engine on its own"
cmake --preset cpu-only -DCUSEG_WERROR=ON -DCUSEG_BUILD_BENCH=$cpu_bench
cmake --build --preset cpu-only -j "$jobs"
ctest --preset cpu-only -j "$jobs"
echo "== the mutation check's fast subset (scripts/mutants.sh --fast): planted bugs the tests above must catch"
scripts/mutants.sh --fast build/cpu-only

echo "== emulated CUDA build (preset emu): every GPU test on the emulated H100, and the tools on it"
# Shuffled (the preset's CUSEG_EMU_SCHEDULE): every grid's blocks in a random order, four at a
# time, and each block's threads taking turns in a random order, at no cost in time; a kernel
# that depends on the order of its blocks or lanes fails here.
cmake --preset emu
cmake --build --preset emu -j "$jobs"
# The long runs together, seg_verify (every op's CUDA path at another seed than EveryOpGpu's)
# first (its COST), beside the tools and the trainer on the emulated GPU.
ctest --preset emu -j "$jobs" --no-tests=error -L gpu -E "^seg_verify_cuda$"
ctest --preset emu -j "$jobs" --no-tests=error -R "^(seg_verify_cuda|Tools\.TrainPredictEvalAndResumeBitForBit|TrainerTest\.(AResumedRunContinuesBitForBit|AccumulatingTwoHalfBatchesEqualsOneFullBatch))$"

echo "== emulated CUDA under ThreadSanitizer (preset emu-tsan): the emulator's tests, block reductions, races between blocks"
# Under TSan the first two blocks of every grid run as 256 OS threads, where a missing
# __syncthreads is a reported race; that costs minutes per op, so this stage runs the emulator's
# own tests and the ops built on the shared-memory block sum and on warp shuffles, on the
# registry's cases of up to 10000 elements (CUSEG_TEST_MAX_CASE_ELEMENTS in the preset). The
# plain emulated stage has run every GPU test.
cmake --preset emu-tsan
cmake --build --preset emu-tsan -j "$jobs" --target emulator_tests kernel_tests
ctest --preset emu-tsan -j "$jobs" -R "Emulator(Faults|Schedule|Races|Memory|MemoryFaults|Graph)?Gpu|TensorCore(Faults)?Gpu|EveryOpGpu.MatchesTheReference/(reduce_sum|softmax_forward)_cuda "
# The implicit GEMM, a column reduction (batch norm's statistics), softmax cross-entropy and Dice
# with their blocks shuffled, four at a time on their own threads: a race between blocks is one
# TSan reports (about 1.5 minutes).
CUSEG_EMU_SCHEDULE=shuffled ctest --preset emu-tsan -j "$jobs" \
  -R "EveryOpGpu.MatchesTheReference/(conv2d_forward|batch_norm_forward_training|softmax_cross_entropy_forward|dice_forward)_cuda "

echo "== emulated CUDA under AddressSanitizer + UndefinedBehaviorSanitizer (preset emu-asan): the library's tests"
# The library as in stage 3 (-O1 here), the tests' own code at -O0 (it compiles faster), no
# command-line tools: their glue (option parsing, printing) is what stages 2 and 3 test, at the
# price of most of this stage's build. The GPU tests on the emulated device at their small sizes
# (CUSEG_TEST_SMALL_CASES_ONLY in the preset), less the row-tile test (65536 blocks) and the
# 150 tensor-core training steps, which stage 3 ran. Then the CPU tests with the device hidden, less the model zoo's whole-network checks
# (segmentation_models_pytorch parity and files, every network's state dict read back, finite
# differences through a whole Unet, ONNX Runtime on whole zoo networks): minutes each at -O1
# under the sanitizers, and their ops and layers run here in the op and layer tests.
cmake --preset emu-asan
cmake --build --preset emu-asan -j "$jobs"
ctest --preset emu-asan -j "$jobs" -L gpu -E "RunsMoreRowTilesThanTheGridYLimit|TensorCoreTrainingTracksF32Loss"
CUDA_VISIBLE_DEVICES= ctest --preset emu-asan -j "$jobs" -L cpu \
  -E "Smp|python_smp_tests|ModelZoo\.(UnetResnetGradients|OutputsTheLogitsAtTheInputsSize)|OnnxRuntimeReproducesTheLogitsOf(TheModelZoosNetworks|Fpn|DeepLabV3Plus|UnetOnEfficientNet)"
