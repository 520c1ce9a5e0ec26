// 2-D convolution (groups = 1), NHWC activations and KRSC weights.
//
//   x  [N, H, W, C]    input
//   w  [K, R, S, C]    weights: K output channels, R×S window, C input channels
//   y  [N, P, Q, K]    output, P = (H + 2·pad_h − dil_h·(R−1) − 1) / stride_h + 1 (Q likewise)
//   b  [K]             bias
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

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  Precision precision = Precision::F32;  // Bf16: the fast CPU path only (backend.h)
};

struct ConvTranspose2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  int output_pad_h = 0, output_pad_w = 0;  // each in [0, stride)
  Precision precision = Precision::F32;
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
