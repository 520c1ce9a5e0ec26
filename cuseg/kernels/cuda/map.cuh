// The grid-stride loop behind every elementwise kernel: op(i) for each i < n.
#pragma once

#include <algorithm>

#include "cuseg/core/cuda/launch.h"

namespace cuseg::cuda {

template <class Op>
__global__ void map_kernel(int64_t n, Op op) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) op(i);
}

template <class Op>
void launch_map(int64_t n, int device, const Op& op) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  int sms = 0;
  CUSEG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  // Enough blocks to fill the GPU several times over; the loop covers the rest.
  const unsigned blocks = std::min<unsigned>(grid_1d(n, kThreads), unsigned(sms) * 32);
  CUSEG_LAUNCH(map_kernel<Op>, blocks, kThreads, 0, stream(device), n, op);
}

}  // namespace cuseg::cuda
