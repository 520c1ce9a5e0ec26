// The fast CPU path's max pooling, f32, any geometry. Semantics as in kernels/pool2d.h (argmax
// h·W + w within the image, ties keep the first, the first NaN wins); the reference is
// cpu/pool2d. The forward selects without branches, so the channel loop vectorizes; the backward
// scatters each output's gradient to its argmax instead of searching every covering window.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::fast {

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeometry& g);
void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeometry& g);

}  // namespace cuseg::fast
