// Internal: CUDA nearest and bilinear resizing, float32. Semantics as in kernels/upsample.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void upsample_forward(const float* x, float* y, const ResizeGeometry& g, bool bilinear, int device);
void upsample_backward(const float* dy, float* dx, const ResizeGeometry& g, bool bilinear, int device);

}  // namespace cuseg::cuda
