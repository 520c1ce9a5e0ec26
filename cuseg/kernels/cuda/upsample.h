// Internal: CUDA nearest and bilinear resizing (either corner rule), float32. Semantics as in kernels/upsample.h.
#pragma once

#include "cuseg/kernels/geometry.h"
#include "cuseg/kernels/upsample_math.h"

namespace cuseg::cuda {

void upsample_forward(const float* x, float* y, const ResizeGeometry& g, Interp kind, int device);
void upsample_backward(const float* dy, float* dx, const ResizeGeometry& g, Interp kind, int device);

}  // namespace cuseg::cuda
