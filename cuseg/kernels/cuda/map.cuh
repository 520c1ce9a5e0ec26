// The grid-stride loop behind every elementwise kernel: op(i) for each i < n. An op whose
// pointers allow it also takes four consecutive elements at once with 128-bit accesses
// (vector_access.cuh): op.quad(g) for elements 4g..4g+3, where op.quads_aligned() says every
// pointer it touches is 16-byte aligned; op(i) then only takes the last n % 4.
#pragma once

#include <algorithm>
#include <concepts>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/vector_access.cuh"

namespace cuseg::cuda {

template <class Op>
__global__ void map_kernel(int64_t n, Op op) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) op(i);
}

template <class Op>
concept QuadOp = requires(const Op& op, int64_t g) {
  op.quad(g);
  { op.quads_aligned() } -> std::convertible_to<bool>;
};

template <class Op>
__global__ void map_quads_kernel(int64_t n, Op op) {
  const int64_t quads = n / 4, stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  for (int64_t g = first; g < quads; g += stride) op.quad(g);
  for (int64_t i = 4 * quads + first; i < n; i += stride) op(i);
}

template <class Op>
void launch_map(int64_t n, int device, const Op& op) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  int sms = 0;
  CUSEG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  // Enough blocks to fill the GPU several times over; the loop covers the rest.
  if constexpr (QuadOp<Op>) {
    if (op.quads_aligned()) {
      const unsigned blocks = std::min<unsigned>(grid_1d((n + 3) / 4, kThreads), unsigned(sms) * 32);
      CUSEG_LAUNCH(map_quads_kernel<Op>, blocks, kThreads, 0, stream(device), n, op);
      return;
    }
  }
  const unsigned blocks = std::min<unsigned>(grid_1d(n, kThreads), unsigned(sms) * 32);
  CUSEG_LAUNCH(map_kernel<Op>, blocks, kThreads, 0, stream(device), n, op);
}

}  // namespace cuseg::cuda
