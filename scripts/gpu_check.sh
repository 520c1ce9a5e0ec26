#!/usr/bin/env bash
# The first thing to run on a machine with an NVIDIA GPU: builds with CUDA (or uses a given
# build folder), runs every test binary (GPU tests included), seg_verify on every
# implementation, the benchmarks, and PyTorch's timings of the same kernels where PyTorch is
# installed; writes one report (report.md) plus the raw logs and Google Benchmark JSON.
#
#   scripts/gpu_check.sh OUT_DIR [BUILD_DIR]
#   BENCH_FILTER   regex passed to --benchmark_filter (default: everything)
#
# Test binaries are run directly (not through ctest), so a build folder made on another
# machine and copied here (scripts/gpu_bundle.sh) works wherever it lands. Where cuDNN or NCCL is
# not on the loader's path, the toolkit's or PyTorch's copy is used.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:?usage: scripts/gpu_check.sh OUT_DIR [BUILD_DIR]}
build=${2:-build/gpu}
mkdir -p "$out"
status=0

if [ ! -x "$build/apps/seg_verify" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_CUDA=ON || exit 1
  cmake --build "$build" -j "$(nproc)" || exit 1
fi

# A bundle from scripts/gpu_bundle.sh keeps the library and its companions here.
export LD_LIBRARY_PATH="$build/cuseg:$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# A library the loader does not find: in the folders given (the toolkit's), else in PyTorch's
# Python packages (nvidia.MODULE), added to LD_LIBRARY_PATH. A bundle carries neither.
use_library() {  # SONAME MODULE LABEL [DIR...]
  local soname=$1 module=$2 label=$3 dir="" d py
  shift 3
  ldconfig -p | grep -q "$soname" && return 0
  for d in "$@"; do [ -e "$d/$soname" ] && dir=$d && break; done
  if [ -z "$dir" ]; then
    for py in /usr/bin/python3 python3; do
      dir=$("$py" -c "import nvidia.$module, os; print(os.path.join(os.path.dirname(nvidia.$module.__file__), 'lib'))" 2>/dev/null) && break
    done
  fi
  [ -n "$dir" ] || return 0
  export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "$label from $dir" | tee "$out/${module}_path.txt"
}
use_library libcudnn.so.9 cudnn cuDNN
use_library libnccl.so.2 nccl NCCL /usr/local/cuda/lib64 /usr/local/cuda/lib

nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >> "$out/nvidia-smi.txt"

export CUSEG_TOOLS_DIR="$root/$build/apps"
export CUSEG_CHECKPOINT_WRITER="$root/$build/tests/checkpoint_writer"
export CUSEG_GRADIENT_SUM_PROBE="$root/$build/tests/gradient_sum_probe"
case "$build" in /*) export CUSEG_TOOLS_DIR="$build/apps" CUSEG_CHECKPOINT_WRITER="$build/tests/checkpoint_writer" \
                            CUSEG_GRADIENT_SUM_PROBE="$build/tests/gradient_sum_probe" ;; esac
for t in "$build"/tests/*_tests; do
  name=$(basename "$t")
  "$t" --gtest_output="xml:$out/$name.xml" > "$out/$name.log" 2>&1 || status=1
  tail -n 3 "$out/$name.log"
done

"$build/apps/seg_verify" --json "$out/seg_verify.json" > "$out/seg_verify.txt" 2>&1 || status=1
tail -n 1 "$out/seg_verify.txt"
if grep -q "^No GPU" "$out/seg_verify.txt"; then
  echo "gpu_check: no usable GPU here; GPU tests were skipped" >&2
  status=1
fi

# compute-sanitizer over every GPU test and seg_verify (which runs each op's CUDA path):
# memcheck (out-of-bounds and misaligned accesses) and racecheck (shared-memory hazards)
# must both report 0 errors. The out-of-memory test is left out: it fails allocations on purpose,
# which memcheck reports as API errors.
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
if [ -n "$sanitizer" ]; then
  : > "$out/compute_sanitizer.txt"
  for tool in memcheck racecheck; do
    for t in "$build"/tests/*_tests "$build/apps/seg_verify"; do
      name=$(basename "$t")
      args=(--gtest_filter='*Gpu*:-OutOfMemoryGpu*')
      [ "$name" = seg_verify ] && args=(--device cuda)
      log="$out/sanitizer_${tool}_$name.log"
      "$sanitizer" --tool "$tool" --error-exitcode 99 --print-limit 50 "$t" "${args[@]}" > "$log" 2>&1 \
        || status=1
      echo "$tool $name: $(grep -h "ERROR SUMMARY\|RACECHECK SUMMARY" "$log" | tail -n 1)" >> "$out/compute_sanitizer.txt"
    done
  done
  cat "$out/compute_sanitizer.txt"
else
  echo "compute-sanitizer not found: memcheck and racecheck not run" | tee "$out/compute_sanitizer.txt"
  status=1
fi

for b in conv2d pool2d softmax pointwise fused_update unet_train_step; do
  if ! "$build/bench/${b}_bench" --benchmark_filter="${BENCH_FILTER:-.}" \
      --benchmark_out="$out/${b}_bench.json" --benchmark_out_format=json > "$out/${b}_bench.txt" 2>&1; then
    grep -q "Failed to match any benchmarks" "$out/${b}_bench.txt" || status=1  # a filter may leave one out
  fi
done

# Training and inference through the tools: seg_train at 3×256×256, batch 16 (images/s, and the
# fraction of each epoch spent waiting for data), seg_predict on 512×512 images at batch 1
# (latency) and 16 (throughput); the same on the CPU, smaller, for the comparison.
tools="$build/apps"
work="$out/tools"
mkdir -p "$work"
"$tools/seg_make_synthetic" --out "$work/images512" --train 1 --val 48 --size 512 > /dev/null || status=1
for dev in cuda cpu; do
  if [ "$dev" = cuda ]; then n=640; epochs=2; else n=32; epochs=1; fi
  "$tools/seg_train" --device "$dev" --size 256 --batch 16 --base 32 --epochs "$epochs" --workers 4 \
      --synthetic-train "$n" --synthetic-val 32 --no-progress --out "$work/train_$dev" \
      > "$work/train_$dev.txt" 2>&1 || status=1
  for batch in 1 16; do
    [ "$dev" = cpu ] && [ "$batch" = 16 ] && continue
    "$tools/seg_predict" --device "$dev" --batch "$batch" --no-overlay \
        --checkpoint "$work/train_$dev/last.safetensors" "$work/images512/val/images" \
        --out "$work/pred_${dev}_b$batch" > "$work/predict_${dev}_b$batch.txt" 2>&1 || status=1
  done
done
# The same GPU training with each step one CUDA graph launch, beside the eager run above.
"$tools/seg_train" --device cuda --cuda-graph --size 256 --batch 16 --base 32 --epochs 2 --workers 4 \
    --synthetic-train 640 --synthetic-val 32 --no-progress --out "$work/train_cuda_graph" \
    > "$work/train_cuda_graph.txt" 2>&1 || status=1

for py in /usr/bin/python3 python3; do
  if "$py" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
    "$py" bench/torch_kernels.py --out "$out/torch_kernels.json" > "$out/torch_kernels.txt" 2>&1 || status=1
    "$py" bench/torch_unet_step.py --out "$out/torch_unet_step.json" > "$out/torch_unet_step.txt" 2>&1 || status=1
    break
  fi
done

python3 bench/report.py "$out" > "$out/report.md" || status=1
echo "gpu_check: report in $out/report.md (status $status)"
exit $status
