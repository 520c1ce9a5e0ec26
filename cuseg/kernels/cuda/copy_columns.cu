#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/copy_columns.h"

namespace cuseg::cuda {

namespace {

// One thread per copied element, the column fastest: both sides' accesses are contiguous runs.
__global__ void copy_columns_kernel(const float* __restrict__ src, int64_t src_stride, int64_t src_col,
                                    float* __restrict__ dst, int64_t dst_stride, int64_t dst_col, int64_t rows,
                                    int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, j = i % cols;
    dst[r * dst_stride + dst_col + j] = __ldg(src + r * src_stride + src_col + j);
  }
}

}  // namespace

void copy_columns(const float* src, int64_t src_stride, int64_t src_col, float* dst, int64_t dst_stride,
                  int64_t dst_col, int64_t rows, int64_t cols, int device) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  CUSEG_LAUNCH(copy_columns_kernel, std::min<unsigned>(grid_1d(n, 256), 65535u * 4), 256, 0,
               stream(device), src, src_stride, src_col, dst, dst_stride, dst_col, rows, cols);
}

}  // namespace cuseg::cuda
