// Internal: the CUDA column-block copy behind concat and split (see cpu/copy_columns.h).
#pragma once

#include <cstdint>

namespace cuseg::cuda {

void copy_columns(const float* src, int64_t src_stride, int64_t src_col, float* dst, int64_t dst_stride,
                  int64_t dst_col, int64_t rows, int64_t cols, int device);

}  // namespace cuseg::cuda
