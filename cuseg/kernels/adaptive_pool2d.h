// Adaptive average pooling over NHWC tensors: x [N, H, W, C] → y [N, P, Q, C] for any output
// size (y's shape says it), PyTorch's F.adaptive_avg_pool2d. Output (p, q) averages the window
//
//   rows [⌊p·H/P⌋, ⌈(p + 1)·H/P⌉) × columns [⌊q·W/Q⌋, ⌈(q + 1)·W/Q⌉)
//
// which never holds padding; windows overlap where P does not divide H, and P > H repeats rows.
// P = Q = 1 is global average pooling (the networks' classifier heads and DeepLabV3+'s image
// pooling branch), and has its own kernels. Backward gives each input the sum of dy / window
// area over the outputs whose windows hold it. Both assign their output (nothing accumulates).
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y, Backend backend = Backend::Auto);
void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx, Backend backend = Backend::Auto);

}  // namespace cuseg
