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
# cuDNN is not bundled: gpu_check.sh finds the copy inside PyTorch's Python packages.
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
cp "$build"/tests/*_tests "$dir/tests/"
cp "$build"/bench/*_bench "$dir/bench/"
cp -P "$build"/cuseg/libcuseg.so* "$dir/cuseg/"
for lib in libbenchmark.so.1debian libgomp.so.1 libcudart.so.13; do
  path=$(ldd "$build/bench/conv2d_bench" | awk -v l="$lib" '$1 == l {print $3}')
  [ -n "$path" ] && cp -L "$path" "$dir/lib/"
done
du -sh "$dir"
