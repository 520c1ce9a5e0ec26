// Internal: ReLU, sigmoid, tanh, ReLU6 and SiLU (swish, β = 1) through cuDNN (cudnnActivationForward / Backward) over a
// [n, 1, 1, 1] view. Same semantics as kernels/activation.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/activation.h"

namespace cuseg::cudnn {

void activation_forward(const float* x, float* y, int64_t n, ActivationKind kind, int device);
// cuDNN's backward also takes x. Every mode's derivative but swish's is a function of y (ReLU's
// mask: y > 0 exactly when x > 0), so y stands in for x where x is null; SiLU needs the real x.
void activation_backward(const float* y, const float* dy, float* dx, int64_t n, ActivationKind kind, int device,
                         const float* x = nullptr);

}  // namespace cuseg::cudnn
