// CPU reference of batch normalization over rows × channels (NHWC flattened). Sums in double.
// Semantics as in kernels/batch_norm.h.
#pragma once

#include <cstdint>

namespace cuseg::cpu {

template <class T>
void batch_norm_forward_training(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd,
                                 T* running_mean, T* running_var, int64_t rows, int channels, double eps,
                                 double momentum);
template <class T>
void batch_norm_forward_inference(const T* x, const T* gamma, const T* beta, const T* running_mean,
                                  const T* running_var, T* y, int64_t rows, int channels, double eps);
template <class T>
void batch_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean, const T* save_invstd, T* dx,
                         T* dgamma, T* dbeta, int64_t rows, int channels);

}  // namespace cuseg::cpu
