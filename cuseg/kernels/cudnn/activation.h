// Internal: ReLU, sigmoid and tanh through cuDNN (cudnnActivationForward / Backward) over a
// [n, 1, 1, 1] view. Same semantics as kernels/activation.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/activation.h"

namespace cuseg::cudnn {

void activation_forward(const float* x, float* y, int64_t n, ActivationKind kind, int device);
// cuDNN's backward also takes x; every supported mode's derivative is a function of y (ReLU's
// mask: y > 0 exactly when x > 0), so y stands in for it.
void activation_backward(const float* y, const float* dy, float* dx, int64_t n, ActivationKind kind, int device);

}  // namespace cuseg::cudnn
