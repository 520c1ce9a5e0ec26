// Softmax and log-softmax over the last dimension (the channels of an NHWC tensor, so one
// pixel's class scores are contiguous), and the fused softmax cross-entropy for per-pixel labels.
// Every output here is assigned.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

void softmax_forward(const Tensor& x, Tensor& y, Backend backend = Backend::Auto);
// dx = y ⊙ (dy − Σ_c dy·y)
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx,
                      Backend backend = Backend::Auto);
void log_softmax_forward(const Tensor& x, Tensor& y, Backend backend = Backend::Auto);
// y is the log-softmax output: dx = dy − exp(y)·Σ_c dy
void log_softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx,
                          Backend backend = Backend::Auto);

// Softmax cross-entropy, PyTorch's definition (reduction 'mean'):
//   loss = Σ_i w[l_i] · (logsumexp(x_i) − x_i[l_i]) / Σ_i w[l_i]   over pixels i with l_i ≠ ignore
// with w ≡ 1 when no class weights are given. logits [N,H,W,K] (or any rank, classes last),
// labels [N,H,W] as u8 or i32, class_weights [K] or an undefined Tensor. A label outside
// [0, K) that is not the ignore label is an error. When every pixel is ignored the loss and the
// gradient are 0 (PyTorch gives NaN; a fully ignored crop is routine in segmentation).
//
// Label smoothing ε (PyTorch's label_smoothing) mixes in the uniform target:
//   loss = [(1 − ε)·Σ_i w[l_i]·(−log p_i[l_i]) + (ε/K)·Σ_i Σ_c w[c]·(−log p_i[c])] / Σ_i w[l_i]
//
// Focal loss (Lin et al.) is the same op with γ > 0: each pixel's term is scaled by (1 − p)^γ,
//   loss = Σ_i w[l_i]·(1 − p_i[l_i])^γ·(−log p_i[l_i]) / Σ_i w[l_i]
// with the class weights as focal's α; γ = 0 is the cross-entropy above. Not combined with
// label smoothing.
struct SoftmaxCrossEntropyParams {
  int ignore_index = 255;
  double label_smoothing = 0;  // ε in [0, 1]
  double focal_gamma = 0;      // γ ≥ 0
};

// Writes loss [1] and weight_sum [1] (Σ w over counted pixels, which backward needs). On the GPU
// this checks the labels and so waits for the kernel to finish.
void softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels,
                                   const Tensor& class_weights, Tensor& loss, Tensor& weight_sum,
                                   const SoftmaxCrossEntropyParams& p = {},
                                   Backend backend = Backend::Auto);
// dlogits = loss_grad·[(1 − ε)·w[l_i]·(p_i − onehot(l_i)) + (ε/K)·(p_i·Σ_c w[c] − w)] / weight_sum,
// 0 for ignored pixels.
void softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                    const Tensor& class_weights, const Tensor& weight_sum,
                                    Tensor& dlogits, double loss_grad = 1.0,
                                    const SoftmaxCrossEntropyParams& p = {},
                                    Backend backend = Backend::Auto);

}  // namespace cuseg
