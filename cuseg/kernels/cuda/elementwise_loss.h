// Internal: CUDA elementwise losses, float32 (see kernels/elementwise_loss.h).
#pragma once

#include <cstdint>

#include "cuseg/kernels/elementwise_loss.h"

namespace cuseg::cuda {

void elementwise_loss_forward(const float* x, const float* t, const float* pos_weight, float* loss, int64_t n,
                              int channels, const ElementwiseLossParams& p, int device);
void elementwise_loss_backward(const float* x, const float* t, const float* pos_weight, float* dx, int64_t n,
                               int channels, double loss_grad, const ElementwiseLossParams& p, int device);

}  // namespace cuseg::cuda
