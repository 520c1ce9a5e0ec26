// Internal: cuseg's CUDA convolution kernels (implicit GEMM), float32, on the device's stream.
// Semantics as in kernels/conv2d.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, int device);
void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          int device);
void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            int device);
void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels, int device);
void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels, int device);

}  // namespace cuseg::cuda
