// Stage 1: a fixed grid, each thread summing a grid-stride slice in double, each block reducing
// its threads in shared memory. Stage 2: one thread adds the block partials in order.
#include <cmath>

#include "cuseg/core/cuda/runtime.h"
#include "cuseg/kernels/cuda/reduce.h"

namespace cuseg::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kBlocks = 1024;

__global__ void partial_kernel(const float* __restrict__ x, int64_t n, bool squares, double* partials) {
  double acc = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const double v = __ldg(x + i);
    acc += squares ? v * v : v;
  }
  __shared__ double block[kThreads];
  block[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) block[threadIdx.x] += block[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = block[0];
}

__global__ void finish_kernel(const double* partials, int count, int64_t n, Reduction kind, float* out) {
  double total = 0;
  for (int i = 0; i < count; ++i) total += partials[i];
  *out = float(kind == Reduction::Mean ? total / double(n) : kind == Reduction::L2Norm ? sqrt(total) : total);
}

}  // namespace

void reduce(const float* x, int64_t n, Reduction kind, float* out, int device) {
  cudaStream_t s = stream(device);
  const int blocks = int(std::min<int64_t>(kBlocks, std::max<int64_t>(1, (n + kThreads - 1) / kThreads)));
  double* partials = nullptr;
  CUSEG_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partials), sizeof(double) * blocks, s));
  partial_kernel<<<blocks, kThreads, 0, s>>>(x, n, kind == Reduction::L2Norm, partials);
  CUSEG_CUDA_CHECK_LAUNCH();
  finish_kernel<<<1, 1, 0, s>>>(partials, blocks, n, kind, out);
  CUSEG_CUDA_CHECK_LAUNCH();
  CUSEG_CUDA_CHECK(cudaFreeAsync(partials, s));
}

}  // namespace cuseg::cuda
