// Internal: pooling through cuDNN. Average pooling has the signatures of kernels/cuda/pool2d.h.
// cuDNN's max pooling keeps no argmax — its backward re-reads x and y — so it has its own
// signatures; tests and benchmarks call it directly.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cudnn {

void max_pool2d_forward(const float* x, float* y, const PoolGeometry& g, int device);
void max_pool2d_backward(const float* x, const float* y, const float* dy, float* dx,
                         const PoolGeometry& g, int device);
void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, int device);
void avg_pool2d_backward(const float* dy, float* dx, const PoolGeometry& g, int device);

}  // namespace cuseg::cudnn
