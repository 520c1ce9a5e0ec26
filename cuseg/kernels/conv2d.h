// 2-D convolution, grouped, NHWC activations and KRSC weights.
//
//   x  [N, H, W, C]     input
//   w  [K, R, S, C/g]   weights: K output channels, R×S window, C/g input channels each
//   y  [N, P, Q, K]     output, P = (H + pad_top + pad_bottom − dil_h·(R−1) − 1) / stride_h + 1
//                       (Q likewise with pad_left + pad_right)
//   b  [K]              bias
//
// With g groups (C and K divisible by g), output channel k belongs to group k / (K/g) and reads
// input channels [group·C/g, (group+1)·C/g) only: PyTorch's groups. Depthwise is g = C (K = C, or
// K = m·C with a channel multiplier m). Padding is pad_h rows on top and pad_w columns on the left;
// bottom and right are the same unless pad_bottom / pad_right say otherwise (TensorFlow's "same"
// padding, which EfficientNet uses, puts the odd row at the bottom: same_padding() below).
//
// Outputs y and dx are assigned. Parameter gradients dw and db are accumulated (+=), so that
// gradients from several uses of a weight, or several micro-batches, add up without a copy.
//
// Transposed convolution has its own entry points. Its forward is convolution's backward-data
// and its backward-data is convolution's forward. For a transposed convolution from Ci to Co
// channels, w is [Ci, R, S, Co] (PyTorch's ConvTranspose2d weight is [Ci, Co, R, S]: permute
// (0, 2, 3, 1) to get ours), and the output height is
// (H − 1)·stride − 2·pad + dil·(R − 1) + output_pad + 1.
#pragma once

#include <optional>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;  // top and left; also bottom and right unless given below
  int dil_h = 1, dil_w = 1;
  Precision precision = Precision::F32;  // Bf16: the fast CPU path only (backend.h)
  int groups = 1;
  // Asymmetric padding: where unset, pad_h and pad_w. New fields come last so that the positional
  // initializers written before them ({stride_h, stride_w, pad_h, pad_w, dil_h, dil_w}) keep
  // their meaning.
  std::optional<int> pad_bottom = std::nullopt, pad_right = std::nullopt;

  int bottom() const { return pad_bottom.value_or(pad_h); }
  int right() const { return pad_right.value_or(pad_w); }
  bool symmetric() const { return bottom() == pad_h && right() == pad_w; }
};

// `p` with TensorFlow's "same" padding for an H×W input and an R×S kernel at p's stride and
// dilation (EfficientNet's Conv2dStaticSamePadding): total = max((⌈H/stride⌉ − 1)·stride +
// (R − 1)·dil + 1 − H, 0) rows, total/2 on top and the rest at the bottom; columns likewise.
// The output is then ⌈H/stride⌉ × ⌈W/stride⌉.
Conv2dParams same_padding(Conv2dParams p, int64_t H, int64_t W, int64_t R, int64_t S);

struct ConvTranspose2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  int output_pad_h = 0, output_pad_w = 0;  // each in [0, stride)
  Precision precision = Precision::F32;
  // Transposed convolution stays ungrouped with symmetric padding: U-Net's decoders need no more.
};

// Output shape of conv2d for input shape x and weight shape w; throws if they do not fit.
Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p);
Shape conv_transpose2d_output_shape(const Shape& x, const Shape& w, const ConvTranspose2dParams& p);

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p,
                    Backend backend = Backend::Auto);
void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const Conv2dParams& p,
                          Backend backend = Backend::Auto);
void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, const Conv2dParams& p,
                            Backend backend = Backend::Auto);

// y[n,p,q,k] += b[k] (in place), and db[k] += Σ_{n,p,q} dy[n,p,q,k]. Any rank: the last
// dimension is the channel.
void conv2d_bias_forward(Tensor& y, const Tensor& b, Backend backend = Backend::Auto);
void conv2d_bias_backward(const Tensor& dy, Tensor& db, Backend backend = Backend::Auto);

void conv_transpose2d_forward(const Tensor& x, const Tensor& w, Tensor& y,
                              const ConvTranspose2dParams& p, Backend backend = Backend::Auto);
void conv_transpose2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                    const ConvTranspose2dParams& p,
                                    Backend backend = Backend::Auto);
void conv_transpose2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                      const ConvTranspose2dParams& p,
                                      Backend backend = Backend::Auto);

}  // namespace cuseg
