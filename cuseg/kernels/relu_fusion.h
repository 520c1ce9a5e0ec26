// Internal: what the ops fused with a ReLU (batch_norm_relu_*, group_norm_relu_*) share on the
// paths that run the two ops in turn rather than one fused kernel.
#pragma once

#include "cuseg/core/tensor.h"

namespace cuseg::detail {

// The backward's upstream gradient: a.dy where a.y (the fused forward's output) is undefined (no
// ReLU), else dy·[y > 0] in a new tensor, written by `relu_backward(out)` (one implementation's
// ReLU backward).
template <class Args, class F>
Tensor relu_upstream(const Args& a, F relu_backward) {
  if (!a.y.defined()) return a.dy;
  Tensor g = Tensor::empty(a.dy.shape(), a.dy.dtype(), a.dy.device());
  relu_backward(g);
  return g;
}

}  // namespace cuseg::detail
