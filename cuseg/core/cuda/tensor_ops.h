// Internal: the CUDA side of Tensor::fill and Tensor::fill_uniform.
#pragma once

#include <cstdint>

#include "cuseg/core/dtype.h"

namespace cuseg::cuda {

void fill(void* data, DType dtype, int64_t n, double value, int device);
void fill_uniform(void* data, DType dtype, int64_t n, uint64_t seed, double low, double high,
                  int device);

}  // namespace cuseg::cuda
