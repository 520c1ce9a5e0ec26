#include "cuseg/kernels/cpu/copy_columns.h"

namespace cuseg::cpu {

template <class T>
void copy_columns(const T* src, int64_t src_stride, int64_t src_col, T* dst, int64_t dst_stride, int64_t dst_col,
                  int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) dst[r * dst_stride + dst_col + j] = src[r * src_stride + src_col + j];
}

template void copy_columns<float>(const float*, int64_t, int64_t, float*, int64_t, int64_t, int64_t, int64_t);
template void copy_columns<double>(const double*, int64_t, int64_t, double*, int64_t, int64_t, int64_t, int64_t);

}  // namespace cuseg::cpu
