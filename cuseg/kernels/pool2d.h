// 2-D max and average pooling over NHWC tensors.
//
//   x [N, H, W, C]  →  y [N, P, Q, C],  P = ⌊(H + 2·pad_h − kernel_h) / stride_h⌋ + 1 (Q likewise)
//
// ceil_mode rounds up instead, PyTorch's rule exactly: P = ⌈(H + 2·pad_h − kernel_h) / stride_h⌉ + 1,
// less one where the last window would start at or past H + pad_h (it must start inside the input or
// its left padding). Such last windows hang past the padded input; they pool what they cover.
// Padding must be at most half the window (PyTorch's rule), so every window sees the input.
// Max pooling records, per output, the flat index h·W + w of the chosen input in its plane
// (i32 `argmax`, shaped like y); ties go to the first element in row-major window order.
// Backward passes assign dx (it is not accumulated). Average pooling divides by the window clipped
// to the padded input [−pad, H + pad) (count_include_pad = true, PyTorch's default: the whole
// window unless ceil_mode lets it hang past the right padding) or by its in-bounds part (false),
// as aten's avg_pool2d computes its divisor. cuDNN has no ceil mode: where it adds an output,
// Backend::Cudnn runs cuseg's CUDA kernels (kernels/cudnn/pool2d.cpp says why).
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct Pool2dParams {
  int kernel_h = 2, kernel_w = 2;
  int stride_h = 2, stride_w = 2;
  int pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // average pooling only
  bool ceil_mode = false;
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
