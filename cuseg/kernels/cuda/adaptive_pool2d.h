// Internal: CUDA adaptive average pooling, float32. Semantics as in kernels/adaptive_pool2d.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void adaptive_avg_pool2d_forward(const float* x, float* y, const ResizeGeometry& g, int device);
void adaptive_avg_pool2d_backward(const float* dy, float* dx, const ResizeGeometry& g, int device);

}  // namespace cuseg::cuda
