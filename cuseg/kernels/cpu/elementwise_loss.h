// CPU reference of the elementwise losses. Semantics as in kernels/elementwise_loss.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/elementwise_loss.h"

namespace cuseg::cpu {

// pos_weight may be null (1 for every channel).
template <class T>
void elementwise_loss_forward(const T* x, const T* t, const T* pos_weight, T* loss, int64_t n, int channels,
                              const ElementwiseLossParams& p);
template <class T>
void elementwise_loss_backward(const T* x, const T* t, const T* pos_weight, T* dx, int64_t n, int channels,
                               double loss_grad, const ElementwiseLossParams& p);

}  // namespace cuseg::cpu
