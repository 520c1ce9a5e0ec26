// Internal: cuseg's CUDA pooling kernels, float32, on the device's stream.
// Semantics as in kernels/pool2d.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeometry& g,
                        int device);
void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeometry& g,
                         int device);
void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, int device);
void avg_pool2d_backward(const float* dy, float* dx, const PoolGeometry& g, int device);

}  // namespace cuseg::cuda
