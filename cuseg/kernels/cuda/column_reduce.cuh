// Per-channel sums over the rows of an NHWC tensor (rows = N·H·W), deterministic: stage 1 gives
// each block of rows its partial sums (32 channels × 8 row lanes per block, coalesced across
// channels, in double); stage 2 adds the partials of each channel in block order and hands the
// totals to a `finish` functor. K sums can be taken in the same pass (K = 2: Σdy and Σdy·x̂).
//
//   Value:  __device__ Sums<K> operator()(int64_t row, int c) const
//   Finish: __device__ void operator()(int c, const double (&total)[K]) const
#pragma once

#include <algorithm>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/cuda/scratch.h"
#include "cuseg/kernels/cuda/shared_memory.cuh"

namespace cuseg::cuda {

template <int K>
struct Sums {
  float v[K];
};

constexpr int kColumnLanes = 32, kRowLanes = 8;

template <int K, class Value>
__global__ void column_partials_kernel(Value value, int64_t rows, int channels, double* partial) {
  CUSEG_SHARED(double, lanes, [K][kRowLanes][kColumnLanes]);
  const int c = blockIdx.x * kColumnLanes + threadIdx.x;
  double acc[K] = {};
  if (c < channels)
    for (int64_t r = blockIdx.y * int64_t(kRowLanes) + threadIdx.y; r < rows; r += int64_t(gridDim.y) * kRowLanes) {
      const Sums<K> s = value(r, c);
#pragma unroll
      for (int k = 0; k < K; ++k) acc[k] += s.v[k];
    }
#pragma unroll
  for (int k = 0; k < K; ++k) lanes[k][threadIdx.y][threadIdx.x] = acc[k];
  __syncthreads();
  if (threadIdx.y == 0 && c < channels)
#pragma unroll
    for (int k = 0; k < K; ++k) {
      double total = 0;
      for (int i = 0; i < kRowLanes; ++i) total += lanes[k][i][threadIdx.x];
      partial[(int64_t(k) * gridDim.y + blockIdx.y) * channels + c] = total;
    }
}

template <int K, class Finish>
__global__ void column_finish_kernel(const double* partial, int row_blocks, int channels, Finish finish) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  double total[K] = {};
  for (int k = 0; k < K; ++k)
    for (int b = 0; b < row_blocks; ++b) total[k] += partial[(int64_t(k) * row_blocks + b) * channels + c];
  finish(c, total);
}

template <int K, class Value, class Finish>
void column_reduce(int64_t rows, int channels, const Value& value, const Finish& finish, int device) {
  cudaStream_t s = stream(device);
  const int row_blocks = int(std::min<int64_t>(std::max<int64_t>(1, (rows + 255) / 256), 1024));
  Scratch scratch(sizeof(double) * K * row_blocks * size_t(channels), device);
  double* partial = scratch.as<double>();
  const dim3 grid{unsigned((channels + kColumnLanes - 1) / kColumnLanes), unsigned(row_blocks)};
  CUSEG_LAUNCH((column_partials_kernel<K, Value>), grid, dim3(kColumnLanes, kRowLanes), 0, s, value,
               rows, channels, partial);
  CUSEG_LAUNCH((column_finish_kernel<K, Finish>), grid_1d(channels, 128), 128, 0, s, partial,
               row_blocks, channels, finish);
}

}  // namespace cuseg::cuda
