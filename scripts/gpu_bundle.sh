#!/usr/bin/env bash
# For a lent GPU machine that has the CUDA toolkit but none of our Debian packages: builds the
# GPU configuration here (sm_90 unless CMAKE_CUDA_ARCHITECTURES says otherwise) and copies what
# scripts/gpu_check.sh runs — library, test binaries, the tools, benchmarks — plus the shared
# libraries such a machine lacks into one small folder (default .device/bundle, git-ignored):
#
#   scripts/gpu_bundle.sh [DIR]
#   ...carry DIR to the GPU machine, then there:
#   scripts/gpu_check.sh /tmp/gpu_check DIR
#
# cuDNN and NCCL (218 MB) are not bundled: gpu_check.sh finds them beside the toolkit or inside
# PyTorch's Python packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${1:-.device/bundle}
build=${BUILD_DIR:-build/gpu}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUSEG_CUDA=ON -DCUSEG_CUDNN=ON -DCUSEG_WERROR=ON
cmake --build "$build" -j "$(nproc)"

rm -rf "$dir"
mkdir -p "$dir"/{apps,tests,bench,cuseg,lib}
for tool in seg_verify seg_train seg_predict seg_eval seg_sweep seg_make_synthetic; do cp "$build/apps/$tool" "$dir/apps/"; done
cp "$build"/tests/*_tests "$build/tests/checkpoint_writer" "$build/tests/gradient_sum_probe" "$dir/tests/"
cp "$build"/bench/*_bench "$dir/bench/"
cp -P "$build"/cuseg/libcuseg.so* "$dir/cuseg/"
# Every shared library the binaries load, except the C library family and the driver (libcuda),
# which must be the machine's own, and cuDNN and NCCL, which gpu_check.sh finds there.
for f in "$dir"/apps/* "$dir"/tests/* "$dir"/bench/* "$dir"/cuseg/libcuseg.so; do ldd "$f"; done |
  awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    case "$name" in
      libc.so.* | libm.so.* | ld-linux* | libpthread.so.* | libdl.so.* | librt.so.* | libcuda.so.* | libcudnn* | libnccl*) continue ;;
    esac
    case "$path" in "$root"/*) continue ;; esac  # libcuseg itself, copied above
    cp -L "$path" "$dir/lib/"
  done
ls "$dir/lib"
du -sh "$dir"
