// 2-D max and average pooling over NHWC tensors.
//
//   x [N, H, W, C]  →  y [N, P, Q, C],  P = (H + 2·pad_h − kernel_h) / stride_h + 1 (Q likewise)
//
// Padding must be at most half the window (PyTorch's rule), so every window sees the input.
// Max pooling records, per output, the flat index h·W + w of the chosen input in its plane
// (i32 `argmax`, shaped like y); ties go to the first element in row-major window order.
// Backward passes assign dx (it is not accumulated). Average pooling divides by the whole window
// (count_include_pad = true, PyTorch's default) or by the in-bounds part of it.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct Pool2dParams {
  int kernel_h = 2, kernel_w = 2;
  int stride_h = 2, stride_w = 2;
  int pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // average pooling only
};

Shape pool2d_output_shape(const Shape& x, const Pool2dParams& p);

void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& argmax, const Pool2dParams& p,
                        Backend backend = Backend::Auto);
void max_pool2d_backward(const Tensor& dy, const Tensor& argmax, Tensor& dx, const Pool2dParams& p,
                         Backend backend = Backend::Auto);

void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p,
                        Backend backend = Backend::Auto);
void avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dParams& p,
                         Backend backend = Backend::Auto);

}  // namespace cuseg
