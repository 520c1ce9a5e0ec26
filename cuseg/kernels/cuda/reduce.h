// Internal: CUDA whole-tensor reductions (see kernels/reduce.h).
#pragma once

#include <cstdint>

namespace cuseg::cuda {

enum class Reduction { Sum, Mean, L2Norm };

void reduce(const float* x, int64_t n, Reduction kind, float* out, int device);

}  // namespace cuseg::cuda
