// Copies a block of `cols` columns between two row-major matrices with `rows` rows:
// dst[r·dst_stride + dst_col + j] = src[r·src_stride + src_col + j]. Concat and split are this.
#pragma once

#include <cstdint>

namespace cuseg::cpu {

template <class T>
void copy_columns(const T* src, int64_t src_stride, int64_t src_col, T* dst, int64_t dst_stride, int64_t dst_col,
                  int64_t rows, int64_t cols);

}  // namespace cuseg::cpu
