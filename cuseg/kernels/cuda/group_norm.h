// Internal: CUDA group normalization, float32. Semantics as in kernels/group_norm.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void group_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* save_mean, float* save_invstd, const GroupGeometry& g, double eps,
                        int device);
void group_norm_backward(const float* x, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, const GroupGeometry& g, int device);

}  // namespace cuseg::cuda
