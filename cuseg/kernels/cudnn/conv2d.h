// Internal: convolution through cuDNN, FP32 with TF32 off (CUDNN_FMA_MATH), the fastest such
// algorithm found once per geometry. Same signatures and semantics as kernels/cuda/conv2d.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cudnn {

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, int device);
void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          int device);
void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            int device);
void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels, int device);
void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels, int device);

}  // namespace cuseg::cudnn
