// Losses between logits (or predictions) x and float targets t of the same shape, averaged over
// every element, PyTorch's definitions (reduction 'mean'):
//   bce        ℓ = −[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))]   (binary_cross_entropy_with_logits;
//              pos_weight pw per channel — the last dimension — or 1), computed stably as
//              (1 − t)·x + (1 + (pw − 1)·t)·(log(1 + e^−|x|) + max(−x, 0))
//   mse        ℓ = (x − t)²
//   smooth_l1  ℓ = (x − t)²/(2β) if |x − t| < β else |x − t| − β/2
// forward assigns loss [1]; backward assigns dx = loss_grad·∂loss/∂x.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

enum class ElementwiseLossKind { Bce, Mse, SmoothL1 };

struct ElementwiseLossParams {
  ElementwiseLossKind kind = ElementwiseLossKind::Mse;
  double beta = 1.0;  // smooth L1
};

// pos_weight: [C] (C = x's last dimension) for bce, or an undefined Tensor. One op per kind:
// bce_loss_forward, mse_loss_forward, smooth_l1_loss_forward and their backwards.
void elementwise_loss_forward(const Tensor& x, const Tensor& target, const Tensor& pos_weight, Tensor& loss,
                              const ElementwiseLossParams& p, Backend backend = Backend::Auto);
void elementwise_loss_backward(const Tensor& x, const Tensor& target, const Tensor& pos_weight, Tensor& dx,
                               double loss_grad, const ElementwiseLossParams& p, Backend backend = Backend::Auto);

}  // namespace cuseg
