#include "cuseg/kernels/conv2d.h"

#include "cuseg/kernels/cpu/conv2d.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/conv2d.h"
#endif
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/conv2d.h"
#endif
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/bias.h"
#include "cuseg/kernels/onednn/conv2d.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

namespace {

constexpr int64_t kMaxElements = int64_t(1) << 31;  // kernels index tensors with 32-bit rows

// Geometry of the convolution x ⋆ w (x [N,H,W,C], w [K,R,S,C]); throws if they do not fit.
ConvGeometry make_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dParams& p) {
  CUSEG_CHECK(p.stride_h >= 1 && p.stride_w >= 1, op, ": stride ", p.stride_h, "x", p.stride_w,
              " must be at least 1");
  CUSEG_CHECK(p.dil_h >= 1 && p.dil_w >= 1, op, ": dilation ", p.dil_h, "x", p.dil_w,
              " must be at least 1");
  const int64_t extent_h = int64_t(p.dil_h) * (w[1] - 1) + 1;
  const int64_t extent_w = int64_t(p.dil_w) * (w[2] - 1) + 1;
  CUSEG_CHECK(p.pad_h >= 0 && p.pad_w >= 0 && p.pad_h < extent_h && p.pad_w < extent_w, op,
              ": padding ", p.pad_h, "x", p.pad_w, " must be non-negative and smaller than the ",
              extent_h, "x", extent_w, " (dilated) kernel of w ", w.str());
  CUSEG_CHECK(x[3] == w[3], op, ": input ", x.str(), " has ", x[3], " channels, weight ", w.str(),
              " expects ", w[3]);
  CUSEG_CHECK(x[1] + 2 * p.pad_h >= extent_h && x[2] + 2 * p.pad_w >= extent_w, op,
              ": the kernel of w ", w.str(), " does not fit in the padded input ", x.str());
  ConvGeometry g;
  g.N = int(x[0]), g.H = int(x[1]), g.W = int(x[2]), g.C = int(x[3]);
  g.K = int(w[0]), g.R = int(w[1]), g.S = int(w[2]);
  g.P = int((x[1] + 2 * p.pad_h - extent_h) / p.stride_h + 1);
  g.Q = int((x[2] + 2 * p.pad_w - extent_w) / p.stride_w + 1);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.dil_h = p.dil_h, g.dil_w = p.dil_w;
  CUSEG_CHECK(g.x_size() < kMaxElements && g.y_size() < kMaxElements && g.w_size() < kMaxElements,
              op, ": x ", x.str(), " or its output has 2^31 elements or more");
  return g;
}

// bf16 arithmetic exists on the fast CPU path only, and only on CPUs with bf16 instructions.
Impl check_precision(const char* op, Impl impl, Precision precision) {
  if (precision == Precision::F32) return impl;
  CUSEG_CHECK(impl == Impl::Fast, op,
              ": bf16 convolutions run on the fast CPU path only (oneDNN; f32 CPU tensors, backend auto or fast)");
  CUSEG_IF_ONEDNN(onednn::require_bf16(op));
  return impl;
}

Shape y_shape(const ConvGeometry& g) { return Shape{g.N, g.P, g.Q, g.K}; }

// Validates the three tensors of a convolution (x ⋆ w = y, in whichever role the op uses them)
// and returns the geometry.
ConvGeometry check_conv(const char* op, const Arg& x, const Arg& w, const Arg& y,
                        const Conv2dParams& p) {
  detail::check_shapes(op, {x, w, y}, 4);
  detail::check_float_args(op, {x, w, y});
  ConvGeometry g = make_geometry(op, x.tensor.shape(), w.tensor.shape(), p);
  CUSEG_CHECK(y.tensor.shape() == y_shape(g), op, ": ", y.name, " is ", y.tensor.shape().str(),
              " but ", x.name, " ", x.tensor.shape().str(), " ⋆ ", w.name, " ",
              w.tensor.shape().str(), " gives ", y_shape(g).str());
  return g;
}

Conv2dParams as_conv(const ConvTranspose2dParams& p) {
  return {p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.precision};
}

void check_output_pad(const char* op, const ConvTranspose2dParams& p) {
  // PyTorch also accepts output padding below the dilation; those extra rows receive no input,
  // so the adjoint relation above would not hold, and U-Nets never need them.
  auto ok = [](int pad, int stride) { return pad >= 0 && pad < stride; };
  CUSEG_CHECK(ok(p.output_pad_h, p.stride_h) && ok(p.output_pad_w, p.stride_w), op,
              ": output padding ", p.output_pad_h, "x", p.output_pad_w,
              " must be non-negative and smaller than the stride ", p.stride_h, "x", p.stride_w);
}

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  CUSEG_CHECK(x.rank() == 4 && w.rank() == 4, "conv2d: x ", x.str(), " and w ", w.str(),
              " must have rank 4");
  return y_shape(make_geometry("conv2d", x, w, p));
}

Shape conv_transpose2d_output_shape(const Shape& x, const Shape& w,
                                    const ConvTranspose2dParams& p) {
  const char* op = "conv_transpose2d";
  CUSEG_CHECK(x.rank() == 4 && w.rank() == 4, op, ": x ", x.str(), " and w ", w.str(),
              " must have rank 4");
  CUSEG_CHECK(x[3] == w[0], op, ": input ", x.str(), " has ", x[3], " channels, weight ", w.str(),
              " expects ", w[0]);
  check_output_pad(op, p);
  const int64_t h =
      (x[1] - 1) * p.stride_h - 2 * p.pad_h + int64_t(p.dil_h) * (w[1] - 1) + p.output_pad_h + 1;
  const int64_t wd =
      (x[2] - 1) * p.stride_w - 2 * p.pad_w + int64_t(p.dil_w) * (w[2] - 1) + p.output_pad_w + 1;
  CUSEG_CHECK(h > 0 && wd > 0, op, ": input ", x.str(), " with weight ", w.str(),
              " gives an empty output");
  return Shape{x[0], h, wd, w[3]};
}

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p,
                    Backend backend) {
  const char* op = "conv2d_forward";
  const ConvGeometry g = check_conv(op, {"x", x}, {"w", w}, {"y", y}, p);
  switch (check_precision(op, detail::choose_impl(op, x.device(), x.dtype(), backend, true), p.precision)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(onednn::conv2d_forward(x.data<float>(), w.data<float>(), y.data<float>(), g, p.precision));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::conv2d_forward<T>(x.data<T>(), w.data<T>(), y.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::conv2d_forward(x.data<float>(), w.data<float>(), y.data<float>(), g,
                                         x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::conv2d_forward(x.data<float>(), w.data<float>(), y.data<float>(), g,
                                           x.device().index));
      break;
  }
}

void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const Conv2dParams& p,
                          Backend backend) {
  const char* op = "conv2d_backward_data";
  const ConvGeometry g = check_conv(op, {"dx", dx}, {"w", w}, {"dy", dy}, p);
  switch (check_precision(op, detail::choose_impl(op, dy.device(), dy.dtype(), backend, true), p.precision)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(onednn::conv2d_backward_data(dy.data<float>(), w.data<float>(), dx.data<float>(), g, p.precision));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(dy.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::conv2d_backward_data<T>(dy.data<T>(), w.data<T>(), dx.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::conv2d_backward_data(dy.data<float>(), w.data<float>(), dx.data<float>(),
                                               g, dy.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::conv2d_backward_data(dy.data<float>(), w.data<float>(),
                                                 dx.data<float>(), g, dy.device().index));
      break;
  }
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, const Conv2dParams& p,
                            Backend backend) {
  const char* op = "conv2d_backward_filter";
  const ConvGeometry g = check_conv(op, {"x", x}, {"dw", dw}, {"dy", dy}, p);
  switch (check_precision(op, detail::choose_impl(op, x.device(), x.dtype(), backend, true), p.precision)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(onednn::conv2d_backward_filter(x.data<float>(), dy.data<float>(), dw.data<float>(), g, p.precision));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::conv2d_backward_filter<T>(x.data<T>(), dy.data<T>(), dw.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::conv2d_backward_filter(x.data<float>(), dy.data<float>(),
                                                 dw.data<float>(), g, x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::conv2d_backward_filter(x.data<float>(), dy.data<float>(),
                                                   dw.data<float>(), g, x.device().index));
      break;
  }
}

namespace {

// Validates y (or dy) against a bias b [K]: y's last dimension is K.
void check_bias(const char* op, const Arg& y, const Arg& b) {
  detail::check_shapes(op, {y}, -1);
  detail::check_shapes(op, {b}, 1);
  detail::check_float_args(op, {y, b});
  CUSEG_CHECK(y.tensor.rank() >= 1 && y.tensor.dim(y.tensor.rank() - 1) == b.tensor.dim(0), op,
              ": ", y.name, "'s last dimension must equal ", b.name, "'s size (",
              detail::describe({y, b}), ")");
}

}  // namespace

void conv2d_bias_forward(Tensor& y, const Tensor& b, Backend backend) {
  const char* op = "conv2d_bias_forward";
  check_bias(op, {"y", y}, {"b", b});
  const int channels = int(b.dim(0));
  const int64_t rows = y.numel() / channels;
  switch (detail::choose_impl(op, y.device(), y.dtype(), backend, /*has_fast=*/true)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::conv2d_bias_forward(y.data<float>(), b.data<float>(), rows, channels));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(y.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::conv2d_bias_forward<T>(y.data<T>(), b.data<T>(), rows, channels);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::conv2d_bias_forward(y.data<float>(), b.data<float>(), rows, channels,
                                              y.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::conv2d_bias_forward(y.data<float>(), b.data<float>(), rows, channels,
                                                y.device().index));
      break;
  }
}

void conv2d_bias_backward(const Tensor& dy, Tensor& db, Backend backend) {
  const char* op = "conv2d_bias_backward";
  check_bias(op, {"dy", dy}, {"db", db});
  const int channels = int(db.dim(0));
  const int64_t rows = dy.numel() / channels;
  switch (detail::choose_impl(op, dy.device(), dy.dtype(), backend, /*has_fast=*/true)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::conv2d_bias_backward(dy.data<float>(), db.data<float>(), rows, channels));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(dy.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::conv2d_bias_backward<T>(dy.data<T>(), db.data<T>(), rows, channels);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::conv2d_bias_backward(dy.data<float>(), db.data<float>(), rows, channels,
                                               dy.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::conv2d_bias_backward(dy.data<float>(), db.data<float>(), rows, channels,
                                                 dy.device().index));
      break;
  }
}

// Transposed convolution is the adjoint of convolution: with the convolution that maps the
// transposed output y back onto x, its forward is that convolution's backward-data, and so on.
// The output shape is checked here, where output padding is known.

void conv_transpose2d_forward(const Tensor& x, const Tensor& w, Tensor& y,
                              const ConvTranspose2dParams& p, Backend backend) {
  detail::check_shapes("conv_transpose2d_forward", {{"x", x}, {"w", w}, {"y", y}}, 4);
  const Shape expected = conv_transpose2d_output_shape(x.shape(), w.shape(), p);
  CUSEG_CHECK(y.shape() == expected, "conv_transpose2d_forward: y is ", y.shape().str(),
              ", expected ", expected.str(), " (x ", x.shape().str(), ", w ", w.shape().str(), ")");
  conv2d_backward_data(x, w, y, as_conv(p), backend);
}

void conv_transpose2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                    const ConvTranspose2dParams& p, Backend backend) {
  detail::check_shapes("conv_transpose2d_backward_data", {{"dy", dy}, {"w", w}, {"dx", dx}}, 4);
  const Shape expected = conv_transpose2d_output_shape(dx.shape(), w.shape(), p);
  CUSEG_CHECK(dy.shape() == expected, "conv_transpose2d_backward_data: dy is ", dy.shape().str(),
              ", expected ", expected.str(), " (dx ", dx.shape().str(), ", w ", w.shape().str(),
              ")");
  conv2d_forward(dy, w, dx, as_conv(p), backend);
}

void conv_transpose2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                      const ConvTranspose2dParams& p, Backend backend) {
  detail::check_shapes("conv_transpose2d_backward_filter", {{"x", x}, {"dy", dy}, {"dw", dw}}, 4);
  const Shape expected = conv_transpose2d_output_shape(x.shape(), dw.shape(), p);
  CUSEG_CHECK(dy.shape() == expected, "conv_transpose2d_backward_filter: dy is ", dy.shape().str(),
              ", expected ", expected.str(), " (x ", x.shape().str(), ", dw ", dw.shape().str(),
              ")");
  conv2d_backward_filter(dy, x, dw, as_conv(p), backend);
}

}  // namespace cuseg
