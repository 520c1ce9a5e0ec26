// The fast CPU path's adaptive average pooling, f32, any output size (kernels/adaptive_pool2d.h;
// the reference is cpu/adaptive_pool2d). Work is split by output position and by blocks of
// channels, so global pooling (one output per image) still spreads over every thread; the window
// sums run in vectorized channel loops.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::fast {

void adaptive_avg_pool2d_forward(const float* x, float* y, const ResizeGeometry& g);
void adaptive_avg_pool2d_backward(const float* dy, float* dx, const ResizeGeometry& g);

}  // namespace cuseg::fast
