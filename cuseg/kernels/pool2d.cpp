#include "cuseg/kernels/pool2d.h"

#include "cuseg/kernels/cpu/pool2d.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/pool2d.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pool2d.h"
#endif
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/pool2d.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

namespace {

PoolGeometry make_geometry(const char* op, const Shape& x, const Pool2dParams& p) {
  CUSEG_CHECK(p.kernel_h >= 1 && p.kernel_w >= 1, op, ": window ", p.kernel_h, "x", p.kernel_w,
              " must be at least 1x1");
  CUSEG_CHECK(p.stride_h >= 1 && p.stride_w >= 1, op, ": stride ", p.stride_h, "x", p.stride_w,
              " must be at least 1");
  CUSEG_CHECK(
      p.pad_h >= 0 && p.pad_w >= 0 && 2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w, op,
      ": padding ", p.pad_h, "x", p.pad_w, " must be non-negative and at most half the ",
      p.kernel_h, "x", p.kernel_w, " window");
  CUSEG_CHECK(x[1] + 2 * p.pad_h >= p.kernel_h && x[2] + 2 * p.pad_w >= p.kernel_w, op, ": the ",
              p.kernel_h, "x", p.kernel_w, " window does not fit in the padded input ", x.str());
  CUSEG_CHECK(x.numel() < (int64_t(1) << 31), op, ": x ", x.str(), " has 2^31 elements or more");
  PoolGeometry g;
  g.N = int(x[0]), g.H = int(x[1]), g.W = int(x[2]), g.C = int(x[3]);
  g.P = int((x[1] + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1);
  g.Q = int((x[2] + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1);
  g.kernel_h = p.kernel_h, g.kernel_w = p.kernel_w;
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.count_include_pad = p.count_include_pad;
  return g;
}

Shape y_shape(const PoolGeometry& g) { return Shape{g.N, g.P, g.Q, g.C}; }

// Validates input x (or dx) and output y (or dy) of a pooling and returns the geometry.
PoolGeometry check_pool(const char* op, const Arg& x, const Arg& y, const Pool2dParams& p) {
  detail::check_shapes(op, {x, y}, 4);
  detail::check_float_args(op, {x, y});
  PoolGeometry g = make_geometry(op, x.tensor.shape(), p);
  CUSEG_CHECK(y.tensor.shape() == y_shape(g), op, ": ", y.name, " is ", y.tensor.shape().str(),
              " but pooling ", x.name, " ", x.tensor.shape().str(), " gives ", y_shape(g).str());
  return g;
}

}  // namespace

Shape pool2d_output_shape(const Shape& x, const Pool2dParams& p) {
  CUSEG_CHECK(x.rank() == 4, "pool2d: x ", x.str(), " must have rank 4");
  return y_shape(make_geometry("pool2d", x, p));
}

void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& argmax, const Pool2dParams& p,
                        Backend backend) {
  const char* op = "max_pool2d_forward";
  const PoolGeometry g = check_pool(op, {"x", x}, {"y", y}, p);
  detail::check_exact(op, {"argmax", argmax}, x.device(), DType::I32, y.shape());
  switch (detail::choose_impl(op, x.device(), x.dtype(), backend, /*has_fast=*/true)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::max_pool2d_forward(x.data<float>(), y.data<float>(), argmax.data<int32_t>(), g));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::max_pool2d_forward<T>(x.data<T>(), y.data<T>(), argmax.data<int32_t>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::max_pool2d_forward(x.data<float>(), y.data<float>(),
                                             argmax.data<int32_t>(), g, x.device().index));
      break;
    case Impl::Cudnn:
      throw_error(str_cat(op,
                          ": cuDNN max pooling keeps no argmax; cudnn::max_pool2d_forward "
                          "(kernels/cudnn/pool2d.h) is the cuDNN path"));
  }
}

void max_pool2d_backward(const Tensor& dy, const Tensor& argmax, Tensor& dx, const Pool2dParams& p,
                         Backend backend) {
  const char* op = "max_pool2d_backward";
  const PoolGeometry g = check_pool(op, {"dx", dx}, {"dy", dy}, p);
  detail::check_exact(op, {"argmax", argmax}, dy.device(), DType::I32, dy.shape());
  switch (detail::choose_impl(op, dy.device(), dy.dtype(), backend, /*has_fast=*/true)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::max_pool2d_backward(dy.data<float>(), argmax.data<int32_t>(), dx.data<float>(), g));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(dy.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::max_pool2d_backward<T>(dy.data<T>(), argmax.data<int32_t>(), dx.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::max_pool2d_backward(dy.data<float>(), argmax.data<int32_t>(),
                                              dx.data<float>(), g, dy.device().index));
      break;
    case Impl::Cudnn:
      throw_error(str_cat(op,
                          ": cuDNN max pooling backward needs x and y, not an argmax; "
                          "cudnn::max_pool2d_backward (kernels/cudnn/pool2d.h) is the cuDNN path"));
  }
}

void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p, Backend backend) {
  const char* op = "avg_pool2d_forward";
  const PoolGeometry g = check_pool(op, {"x", x}, {"y", y}, p);
  switch (detail::choose_impl(op, x.device(), x.dtype(), backend)) {
    case Impl::Reference:
    case Impl::Fast:  // no fast implementation: the reference serves
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::avg_pool2d_forward<T>(x.data<T>(), y.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(
          cuda::avg_pool2d_forward(x.data<float>(), y.data<float>(), g, x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(
          cudnn::avg_pool2d_forward(x.data<float>(), y.data<float>(), g, x.device().index));
      break;
  }
}

void avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dParams& p, Backend backend) {
  const char* op = "avg_pool2d_backward";
  const PoolGeometry g = check_pool(op, {"dx", dx}, {"dy", dy}, p);
  switch (detail::choose_impl(op, dy.device(), dy.dtype(), backend)) {
    case Impl::Reference:
    case Impl::Fast:  // no fast implementation: the reference serves
      detail::cpu_dispatch(dy.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::avg_pool2d_backward<T>(dy.data<T>(), dx.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(
          cuda::avg_pool2d_backward(dy.data<float>(), dx.data<float>(), g, dy.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(
          cudnn::avg_pool2d_backward(dy.data<float>(), dx.data<float>(), g, dy.device().index));
      break;
  }
}

}  // namespace cuseg
