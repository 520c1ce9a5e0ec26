// Soft Dice loss over a batch, multi-class, from logits and integer labels:
//   p = softmax(logits) per pixel, t = onehot(label), pixels with the ignore label left out;
//   per class c:  I_c = Σ_i p_ic·t_ic,  S_c = Σ_i p_ic + Σ_i t_ic   (sums in double)
//   loss = 1 − (1/K)·Σ_c (2·I_c + s)/(S_c + s)        s: the smoothing term (s > 0 keeps a class
//                                                        absent from prediction and truth at 1)
// forward assigns loss [1] and stats [2, K] (I, then S), which backward needs; backward assigns
// dlogits = loss_grad·∂loss/∂logits (0 for ignored pixels). A label outside [0, K) that is not
// the ignore label is an error (on the GPU, forward waits to check it).
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct DiceParams {
  double smooth = 1.0;
  int ignore_index = 255;
};

void dice_forward(const Tensor& logits, const Tensor& labels, Tensor& loss, Tensor& stats, const DiceParams& p = {},
                  Backend backend = Backend::Auto);
void dice_backward(const Tensor& logits, const Tensor& labels, const Tensor& stats, Tensor& dlogits,
                   double loss_grad = 1.0, const DiceParams& p = {}, Backend backend = Backend::Auto);

}  // namespace cuseg
