// Internal: CUDA batch normalization over rows × channels, float32. Semantics as in
// kernels/batch_norm.h.
#pragma once

#include <cstdint>

namespace cuseg::cuda {

void batch_norm_forward_training(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                                 float* save_invstd, float* running_mean, float* running_var, int64_t rows,
                                 int channels, double eps, double momentum, int device);
void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta, const float* running_mean,
                                  const float* running_var, float* y, int64_t rows, int channels, double eps,
                                  int device);
void batch_norm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                         const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int channels,
                         int device);

}  // namespace cuseg::cuda
