// CPU reference of adaptive average pooling over NHWC. Semantics as in kernels/adaptive_pool2d.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const ResizeGeometry& g);
template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const ResizeGeometry& g);

}  // namespace cuseg::cpu
