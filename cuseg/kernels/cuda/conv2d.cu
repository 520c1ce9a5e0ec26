#include "cuseg/kernels/cuda/conv2d.h"
#include "cuseg/kernels/cuda/conv_problems.h"
#include "cuseg/kernels/cuda/implicit_gemm.cuh"

namespace cuseg::cuda {

namespace {

__global__ void bias_forward_kernel(float* y, const float* b, int64_t n, int channels) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] += __ldg(b + i % channels);
}

// Stage 1: block (x, y) sums rows y, y + gridDim.y, ... of 32 channels, its 8 thread rows
// coalesced across channels, into partial[y][c]. Stage 2 adds the partials in a fixed order,
// so the result does not depend on scheduling.
constexpr int kBiasRowThreads = 8;

__global__ void bias_backward_partial_kernel(const float* dy, float* partial, int64_t rows,
                                             int channels) {
  __shared__ float sums[kBiasRowThreads][32];
  const int c = blockIdx.x * 32 + threadIdx.x;
  float sum = 0.f;
  if (c < channels)
    for (int64_t r = blockIdx.y * int64_t(kBiasRowThreads) + threadIdx.y; r < rows;
         r += int64_t(gridDim.y) * kBiasRowThreads)
      sum += dy[r * channels + c];
  sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < channels) {
    float total = 0.f;
    for (int i = 0; i < kBiasRowThreads; ++i) total += sums[i][threadIdx.x];
    partial[int64_t(blockIdx.y) * channels + c] = total;
  }
}

__global__ void bias_backward_final_kernel(const float* partial, float* db, int row_blocks,
                                           int channels) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  float total = 0.f;
  for (int i = 0; i < row_blocks; ++i) total += partial[int64_t(i) * channels + c];
  db[c] += total;
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, int device) {
  ConvForward prob{g.N * g.P * g.Q, g.K, g.R * g.S * g.C, g, x, w, y};
  run_implicit_gemm(prob, device);
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          int device) {
  ConvBackwardData prob{g.N * g.H * g.W, g.C, g.R * g.S * g.K, g, dy, w, dx};
  run_implicit_gemm(prob, device);
}

void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            int device) {
  ConvBackwardFilter prob{g.K, g.R * g.S * g.C, g.N * g.P * g.Q, g, x, dy, dw};
  run_implicit_gemm(prob, device);
}

void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels, int device) {
  const int64_t n = rows * channels;
  bias_forward_kernel<<<std::min<unsigned>(grid_1d(n, 256), 65535u), 256, 0, stream(device)>>>(
      y, b, n, channels);
  CUSEG_CUDA_CHECK_LAUNCH();
}

void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels, int device) {
  cudaStream_t s = stream(device);
  const int row_blocks = int(std::min<int64_t>((rows + 255) / 256, 1024));
  float* partial = nullptr;
  CUSEG_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partial),
                                   size_t(row_blocks) * channels * sizeof(float), s));
  const dim3 grid{unsigned((channels + 31) / 32), unsigned(row_blocks)};
  bias_backward_partial_kernel<<<grid, dim3(32, kBiasRowThreads), 0, s>>>(dy, partial, rows,
                                                                          channels);
  CUSEG_CUDA_CHECK_LAUNCH();
  bias_backward_final_kernel<<<grid_1d(channels, 256), 256, 0, s>>>(partial, db, row_blocks,
                                                                    channels);
  CUSEG_CUDA_CHECK_LAUNCH();
  CUSEG_CUDA_CHECK(cudaFreeAsync(partial, s));
}

}  // namespace cuseg::cuda
