// One thread per pixel: arg-max over its classes, then one atomic increment of its cell. Counts
// are whole numbers, so the order of the increments cannot change the result. Small class counts
// first gather a block's counts in shared memory, cutting global atomics to one per cell per block.
#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/cuda/scratch.h"
#include "cuseg/kernels/cuda/confusion.h"
#include "cuseg/kernels/cuda/labels.cuh"
#include "cuseg/kernels/cuda/shared_memory.cuh"

namespace cuseg::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kSharedClasses = 32;  // K² ≤ 1024 cells in shared memory

__device__ __forceinline__ int argmax_of(const float* row, int k) {
  int best = 0;
  for (int c = 1; c < k; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

__global__ void confusion_kernel(const float* __restrict__ logits, const void* labels, bool u8, double* counts,
                                 RowGeometry g, int ignore, unsigned long long* invalid) {
  CUSEG_SHARED(unsigned int, local, [kSharedClasses * kSharedClasses]);
  const int k = g.channels;
  const bool shared = k <= kSharedClasses;
  if (shared)
    for (int i = threadIdx.x; i < k * k; i += blockDim.x) local[i] = 0;
  __syncthreads();
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < g.rows; r += int64_t(gridDim.x) * blockDim.x) {
    const int label = label_at(labels, u8, r);
    if (label == ignore) continue;
    if (label < 0 || label >= k) {
      atomicAdd(invalid, 1ull);
      continue;
    }
    const int cell = label * k + argmax_of(logits + r * k, k);
    if (shared) {
      atomicAdd(&local[cell], 1u);
    } else {
      atomicAdd(&counts[cell], 1.0);
    }
  }
  __syncthreads();
  if (shared)
    for (int i = threadIdx.x; i < k * k; i += blockDim.x)
      if (local[i]) atomicAdd(&counts[i], double(local[i]));
}

}  // namespace

int64_t confusion_update(const float* logits, const void* labels, bool labels_u8, double* counts,
                         const RowGeometry& g, int ignore_index, int device) {
  cudaStream_t s = stream(device);
  Scratch invalid_scratch(sizeof(unsigned long long), device);
  unsigned long long* invalid_dev = invalid_scratch.as<unsigned long long>();
  CUSEG_CUDA_CHECK(cudaMemsetAsync(invalid_dev, 0, sizeof(unsigned long long), s));
  int sms = 0;
  CUSEG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const unsigned blocks = std::min<unsigned>(grid_1d(g.rows, kThreads), unsigned(sms) * 8);
  CUSEG_LAUNCH(confusion_kernel, blocks, kThreads, 0, s, logits, labels, labels_u8, counts, g,
               ignore_index, invalid_dev);
  unsigned long long invalid = 0;
  CUSEG_CUDA_CHECK(cudaMemcpyAsync(&invalid, invalid_dev, sizeof(invalid), cudaMemcpyDeviceToHost, s));
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));
  return int64_t(invalid);
}

}  // namespace cuseg::cuda
