// Internal: batch normalization through cuDNN (CUDNN_BATCHNORM_SPATIAL on NHWC). Same
// signatures and semantics as kernels/cuda/batch_norm.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cudnn {

void batch_norm_forward_training(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                                 float* save_invstd, float* running_mean, float* running_var, int n, int h, int w,
                                 int channels, double eps, double momentum, int device);
void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta, const float* running_mean,
                                  const float* running_var, float* y, int n, int h, int w, int channels, double eps,
                                  int device);
void batch_norm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                         const float* save_invstd, float* dx, float* dgamma, float* dbeta, int n, int h, int w,
                         int channels, double eps, int device);

}  // namespace cuseg::cudnn
