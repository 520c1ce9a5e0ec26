// 2-D batch normalization over NHWC tensors: statistics per channel over N·H·W = M elements.
//
// training   mean, var = batch mean and biased variance;  y = (x − mean)·invstd·γ + β,
//            invstd = 1/√(var + eps). save_mean and save_invstd [C] are assigned (backward needs
//            them); running statistics are updated in place, as PyTorch does:
//              running_mean ← (1 − momentum)·running_mean + momentum·mean
//              running_var  ← (1 − momentum)·running_var  + momentum·var·M/(M − 1)
// inference  y = (x − running_mean)/√(running_var + eps)·γ + β
// backward   (of training) dx assigned; dγ and dβ accumulated (+=), like every parameter
//            gradient:  x̂ = (x − mean)·invstd,  dβ += Σdy,  dγ += Σdy·x̂,
//            dx = γ·invstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)
// Training needs M > 1 (as in PyTorch: one value per channel has no variance).
//
// batch_norm_relu_*: batch normalization followed by ReLU, y = max(BN(x), 0) — the pair every
// U-Net block has. The backward takes that y and is BN's backward of dy·[y > 0]. The fast CPU
// path runs each in one pass, with no tensor between the two; the other paths run the two ops.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct BatchNormParams {
  double eps = 1e-5;
  double momentum = 0.1;
};

void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                                 Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                                 const BatchNormParams& p = {}, Backend backend = Backend::Auto);
void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                  const BatchNormParams& p = {}, Backend backend = Backend::Auto);
void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                         const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                         const BatchNormParams& p = {}, Backend backend = Backend::Auto);

void batch_norm_relu_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                                      Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean,
                                      Tensor& running_var, const BatchNormParams& p = {},
                                      Backend backend = Backend::Auto);
void batch_norm_relu_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                       const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                       const BatchNormParams& p = {}, Backend backend = Backend::Auto);
void batch_norm_relu_backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& gamma,
                              const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                              Tensor& dbeta, const BatchNormParams& p = {}, Backend backend = Backend::Auto);

}  // namespace cuseg
