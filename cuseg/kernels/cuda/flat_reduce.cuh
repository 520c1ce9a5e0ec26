// Σ over i < n of value(i), deterministic: stage 1 a fixed grid of blocks, each thread summing a
// grid-stride slice in double and each block its threads in shared memory; stage 2 one thread
// adding the block partials in order and handing the total to `finish`.
//
//   Value:  __device__ double operator()(int64_t i) const
//   Finish: __device__ void operator()(double total) const
#pragma once

#include <algorithm>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/cuda/scratch.h"
#include "cuseg/kernels/cuda/shared_memory.cuh"

namespace cuseg::cuda {

constexpr int kFlatThreads = 256, kFlatBlocks = 1024;

// Sums `value` over the kFlatThreads threads of a block in a fixed tree; every thread gets the
// total. A block may call it again (the lanes are free when it returns).
__device__ __forceinline__ double block_sum(double value) {
  CUSEG_SHARED(double, block, [kFlatThreads]);
  block[threadIdx.x] = value;
  __syncthreads();
  for (int half = kFlatThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) block[threadIdx.x] += block[threadIdx.x + half];
    __syncthreads();
  }
  const double total = block[0];
  __syncthreads();
  return total;
}

// block_sum, thread 0 writing the block's total to partials[blockIdx.x].
__device__ __forceinline__ void store_block_sum(double value, double* partials) {
  const double total = block_sum(value);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

template <class Value>
__global__ void flat_partial_kernel(Value value, int64_t n, double* partials) {
  double acc = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    acc += value(i);
  store_block_sum(acc, partials);
}

template <class Finish>
__global__ void flat_finish_kernel(const double* partials, int count, Finish finish) {
  double total = 0;
  for (int i = 0; i < count; ++i) total += partials[i];
  finish(total);
}

template <class Value, class Finish>
void flat_reduce(int64_t n, const Value& value, const Finish& finish, int device) {
  cudaStream_t s = stream(device);
  const int blocks = int(std::min<int64_t>(kFlatBlocks, std::max<int64_t>(1, (n + kFlatThreads - 1) / kFlatThreads)));
  Scratch scratch(sizeof(double) * size_t(blocks), device);
  double* partials = scratch.as<double>();
  CUSEG_LAUNCH(flat_partial_kernel<Value>, blocks, kFlatThreads, 0, s, value, n, partials);
  CUSEG_LAUNCH(flat_finish_kernel<Finish>, 1, 1, 0, s, partials, blocks, finish);
}

}  // namespace cuseg::cuda
