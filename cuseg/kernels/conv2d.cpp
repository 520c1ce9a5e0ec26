#include "cuseg/kernels/conv2d.h"

#include <algorithm>

#include "cuseg/kernels/cpu/conv2d.h"
#include "cuseg/kernels/op.h"
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

namespace {

constexpr int64_t kMaxElements = int64_t(1) << 31;  // kernels index tensors with 32-bit rows

// Geometry of the convolution x ⋆ w (x [N,H,W,C], w [K,R,S,C/groups]); throws if they do not fit.
ConvGeometry make_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dParams& p) {
  CUSEG_CHECK(p.stride_h >= 1 && p.stride_w >= 1, op, ": stride ", p.stride_h, "x", p.stride_w,
              " must be at least 1");
  CUSEG_CHECK(p.dil_h >= 1 && p.dil_w >= 1, op, ": dilation ", p.dil_h, "x", p.dil_w,
              " must be at least 1");
  const int64_t extent_h = int64_t(p.dil_h) * (w[1] - 1) + 1;
  const int64_t extent_w = int64_t(p.dil_w) * (w[2] - 1) + 1;
  const int top = p.pad_h, bottom = p.bottom(), left = p.pad_w, right = p.right();
  // A pad as large as the kernel would give output rows that read nothing but padding.
  auto fits = [](int pad, int64_t extent) { return pad >= 0 && pad < extent; };
  CUSEG_CHECK(fits(top, extent_h) && fits(bottom, extent_h) && fits(left, extent_w) && fits(right, extent_w), op,
              ": padding (top, bottom, left, right) = (", top, ", ", bottom, ", ", left, ", ", right,
              ") must be non-negative and smaller than the ", extent_h, "x", extent_w, " (dilated) kernel of w ",
              w.str());
  CUSEG_CHECK(p.groups >= 1, op, ": groups ", p.groups, " must be at least 1");
  CUSEG_CHECK(x[3] % p.groups == 0 && w[0] % p.groups == 0, op, ": ", p.groups, " groups must divide the ",
              x[3], " input channels of x ", x.str(), " and the ", w[0], " output channels of w ", w.str());
  CUSEG_CHECK(x[3] == w[3] * p.groups, op, ": input ", x.str(), " has ", x[3], " channels, weight ", w.str(),
              " expects ", w[3], " per group × ", p.groups, " group(s) = ", w[3] * p.groups);
  CUSEG_CHECK(x[1] + top + bottom >= extent_h && x[2] + left + right >= extent_w, op, ": the kernel of w ",
              w.str(), " does not fit in the padded input ", x.str());
  ConvGeometry g;
  g.N = int(x[0]), g.H = int(x[1]), g.W = int(x[2]), g.C = int(x[3]);
  g.K = int(w[0]), g.R = int(w[1]), g.S = int(w[2]);
  g.P = int((x[1] + top + bottom - extent_h) / p.stride_h + 1);
  g.Q = int((x[2] + left + right - extent_w) / p.stride_w + 1);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.pad_h = top, g.pad_w = left, g.pad_bottom = bottom, g.pad_right = right;
  g.dil_h = p.dil_h, g.dil_w = p.dil_w;
  g.groups = p.groups;
  CUSEG_CHECK(g.x_size() < kMaxElements && g.y_size() < kMaxElements && g.w_size() < kMaxElements,
              op, ": x ", x.str(), " or its output has 2^31 elements or more");
  return g;
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

Conv2dParams same_padding(Conv2dParams p, int64_t H, int64_t W, int64_t R, int64_t S) {
  CUSEG_CHECK(p.stride_h >= 1 && p.stride_w >= 1 && p.dil_h >= 1 && p.dil_w >= 1 && H >= 1 && W >= 1 && R >= 1 &&
                  S >= 1,
              "same_padding: input ", H, "x", W, ", kernel ", R, "x", S, ", stride ", p.stride_h, "x", p.stride_w,
              " and dilation ", p.dil_h, "x", p.dil_w, " must all be positive");
  auto total = [](int64_t in, int64_t k, int stride, int dil) {
    const int64_t out = (in + stride - 1) / stride;
    return int(std::max<int64_t>((out - 1) * stride + (k - 1) * dil + 1 - in, 0));
  };
  const int th = total(H, R, p.stride_h, p.dil_h), tw = total(W, S, p.stride_w, p.dil_w);
  p.pad_h = th / 2, p.pad_bottom = th - th / 2;
  p.pad_w = tw / 2, p.pad_right = tw - tw / 2;
  return p;
}

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

// ---- the ops' descriptors (op.h) ----------------------------------------------------------

namespace {

// The three directions share one argument shape: two inputs and the output (assigned, or
// accumulated by the filter gradient).
struct Conv {
  const Tensor& a;  // forward: x; backward-data: dy; backward-filter: x
  const Tensor& b;  // w; w; dy
  Tensor& out;      // y; dx; dw
  const ConvGeometry& g;
  Precision precision;
};

// How each implementation computes one direction: f(a, b, out, geometry[, precision][, device]).
#define CUSEG_CONV_OP(direction)                                                                        \
  detail::define_op<Conv>({                                                                             \
      .name = "conv2d_" #direction,                                                                     \
      .entry = "conv2d_" #direction,                                                                    \
      .reference =                                                                                      \
          [](const Conv& c) {                                                                           \
            detail::cpu_dispatch(c.a.dtype(), [&](auto tag) {                                           \
              using T = decltype(tag);                                                                  \
              cpu::conv2d_##direction<T>(c.a.data<T>(), c.b.data<T>(), c.out.data<T>(), c.g);           \
            });                                                                                         \
          },                                                                                            \
      .fast = CUSEG_FAST_IMPL([](const Conv& c) {                                                       \
        onednn::conv2d_##direction(c.a.data<float>(), c.b.data<float>(), c.out.data<float>(), c.g,       \
                                   c.precision);                                                        \
      }),                                                                                               \
      .cuda = CUSEG_CUDA_IMPL([](const Conv& c) {                                                       \
        cuda::conv2d_##direction(c.a.data<float>(), c.b.data<float>(), c.out.data<float>(), c.g,         \
                                 c.precision, c.a.device().index);                                      \
      }),                                                                                               \
      .cudnn = CUSEG_CUDNN_IMPL([](const Conv& c) {                                                     \
        cudnn::conv2d_##direction(c.a.data<float>(), c.b.data<float>(), c.out.data<float>(), c.g,        \
                                  c.a.device().index);                                                  \
      }),                                                                                               \
      .bf16 = true,                                                                                     \
      .tensor_cores = true,                                                                             \
  })

const auto kForward = CUSEG_CONV_OP(forward);
const auto kBackwardData = CUSEG_CONV_OP(backward_data);
const auto kBackwardFilter = CUSEG_CONV_OP(backward_filter);
#undef CUSEG_CONV_OP

// Transposed convolution is the adjoint of convolution: with the convolution that maps the
// transposed output y back onto x, its forward is that convolution's backward-data, its
// backward-data that convolution's forward and its backward-filter that convolution's
// backward-filter with x and dy swapped. So its ops run the same implementations.
detail::Op<Conv> adjoint(const char* name, const detail::Op<Conv>& of) {
  detail::Op<Conv> op = of;
  op.name = op.entry = name;
  return detail::define_op(op);
}
const auto kTransposeForward = adjoint("conv_transpose2d_forward", kBackwardData);
const auto kTransposeBackwardData = adjoint("conv_transpose2d_backward_data", kForward);
const auto kTransposeBackwardFilter = adjoint("conv_transpose2d_backward_filter", kBackwardFilter);

// Tensor is a handle whose data() is writable through a const reference: one struct serves both
// directions, whose written tensor is the first in one and the second in the other.
struct Bias {
  const Tensor& y;  // forward: y += b (in place); backward: dy
  const Tensor& b;  // forward: b; backward: db (accumulated)
  int64_t rows;
  int channels;
};

#define CUSEG_BIAS_OP(direction)                                                                        \
  detail::define_op<Bias>({                                                                             \
      .name = "conv2d_bias_" #direction,                                                                \
      .entry = "conv2d_bias_" #direction,                                                               \
      .reference =                                                                                      \
          [](const Bias& a) {                                                                           \
            detail::cpu_dispatch(a.y.dtype(), [&](auto tag) {                                           \
              using T = decltype(tag);                                                                  \
              cpu::conv2d_bias_##direction<T>(a.y.data<T>(), a.b.data<T>(), a.rows, a.channels);        \
            });                                                                                         \
          },                                                                                            \
      .fast = CUSEG_FAST_IMPL([](const Bias& a) {                                                       \
        fast::conv2d_bias_##direction(a.y.data<float>(), a.b.data<float>(), a.rows, a.channels);        \
      }),                                                                                               \
      .cuda = CUSEG_CUDA_IMPL([](const Bias& a) {                                                       \
        cuda::conv2d_bias_##direction(a.y.data<float>(), a.b.data<float>(), a.rows, a.channels,         \
                                      a.y.device().index);                                              \
      }),                                                                                               \
      .cudnn = CUSEG_CUDNN_IMPL([](const Bias& a) {                                                     \
        cudnn::conv2d_bias_##direction(a.y.data<float>(), a.b.data<float>(), a.rows, a.channels,        \
                                       a.y.device().index);                                             \
      }),                                                                                               \
  })

const auto kBiasForward = CUSEG_BIAS_OP(forward);
const auto kBiasBackward = CUSEG_BIAS_OP(backward);
#undef CUSEG_BIAS_OP

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

// ---- entry points -----------------------------------------------------------------------------

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& p, Backend backend) {
  const ConvGeometry g = check_conv("conv2d_forward", {"x", x}, {"w", w}, {"y", y}, p);
  detail::run(kForward, x, backend, {x, w, y, g, p.precision}, p.precision);
}

void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const Conv2dParams& p, Backend backend) {
  const ConvGeometry g = check_conv("conv2d_backward_data", {"dx", dx}, {"w", w}, {"dy", dy}, p);
  detail::run(kBackwardData, dy, backend, {dy, w, dx, g, p.precision}, p.precision);
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, const Conv2dParams& p, Backend backend) {
  const ConvGeometry g = check_conv("conv2d_backward_filter", {"x", x}, {"dw", dw}, {"dy", dy}, p);
  detail::run(kBackwardFilter, x, backend, {x, dy, dw, g, p.precision}, p.precision);
}

void conv2d_bias_forward(Tensor& y, const Tensor& b, Backend backend) {
  check_bias("conv2d_bias_forward", {"y", y}, {"b", b});
  const int channels = int(b.dim(0));
  detail::run(kBiasForward, y, backend, {y, b, y.numel() / channels, channels});
}

void conv2d_bias_backward(const Tensor& dy, Tensor& db, Backend backend) {
  check_bias("conv2d_bias_backward", {"dy", dy}, {"db", db});
  const int channels = int(db.dim(0));
  detail::run(kBiasBackward, dy, backend, {dy, db, dy.numel() / channels, channels});
}

// The output shape is checked here, where output padding is known; then the adjoint convolution's
// geometry (see kTransposeForward).

void conv_transpose2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvTranspose2dParams& p,
                              Backend backend) {
  const char* op = "conv_transpose2d_forward";
  detail::check_shapes(op, {{"x", x}, {"w", w}, {"y", y}}, 4);
  const Shape expected = conv_transpose2d_output_shape(x.shape(), w.shape(), p);
  CUSEG_CHECK(y.shape() == expected, op, ": y is ", y.shape().str(), ", expected ", expected.str(), " (x ",
              x.shape().str(), ", w ", w.shape().str(), ")");
  const ConvGeometry g = check_conv(op, {"y", y}, {"w", w}, {"x", x}, as_conv(p));
  detail::run(kTransposeForward, x, backend, {x, w, y, g, p.precision}, p.precision);
}

void conv_transpose2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvTranspose2dParams& p,
                                    Backend backend) {
  const char* op = "conv_transpose2d_backward_data";
  detail::check_shapes(op, {{"dy", dy}, {"w", w}, {"dx", dx}}, 4);
  const Shape expected = conv_transpose2d_output_shape(dx.shape(), w.shape(), p);
  CUSEG_CHECK(dy.shape() == expected, op, ": dy is ", dy.shape().str(), ", expected ", expected.str(), " (dx ",
              dx.shape().str(), ", w ", w.shape().str(), ")");
  const ConvGeometry g = check_conv(op, {"dy", dy}, {"w", w}, {"dx", dx}, as_conv(p));
  detail::run(kTransposeBackwardData, dy, backend, {dy, w, dx, g, p.precision}, p.precision);
}

void conv_transpose2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvTranspose2dParams& p,
                                      Backend backend) {
  const char* op = "conv_transpose2d_backward_filter";
  detail::check_shapes(op, {{"x", x}, {"dy", dy}, {"dw", dw}}, 4);
  const Shape expected = conv_transpose2d_output_shape(x.shape(), dw.shape(), p);
  CUSEG_CHECK(dy.shape() == expected, op, ": dy is ", dy.shape().str(), ", expected ", expected.str(), " (x ",
              x.shape().str(), ", dw ", dw.shape().str(), ")");
  const ConvGeometry g = check_conv(op, {"dy", dy}, {"dw", dw}, {"x", x}, as_conv(p));
  detail::run(kTransposeBackwardFilter, dy, backend, {dy, x, dw, g, p.precision}, p.precision);
}

}  // namespace cuseg
