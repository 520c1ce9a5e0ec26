#include "cuseg/kernels/upsample.h"

#include "cuseg/kernels/cpu/upsample.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/upsample.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

namespace {

// x is the smaller-or-larger input, y the resized output: same N and C.
ResizeGeometry check_resize(const char* op, const Arg& x, const Arg& y) {
  detail::check_shapes(op, {x, y}, 4);
  detail::check_float_args(op, {x, y});
  const Shape& xs = x.tensor.shape();
  const Shape& ys = y.tensor.shape();
  CUSEG_CHECK(xs[0] == ys[0] && xs[3] == ys[3], op, ": ", x.name, " and ", y.name,
              " must share batch and channels (", detail::describe({x, y}), ")");
  CUSEG_CHECK(x.tensor.numel() < (int64_t(1) << 31) && y.tensor.numel() < (int64_t(1) << 31), op,
              ": tensors of 2^31 elements or more");
  return {int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[1]), int(ys[2])};
}

}  // namespace

void upsample_forward(const Tensor& x, Tensor& y, UpsampleMode mode) {
  const char* op = "upsample_forward";
  const ResizeGeometry g = check_resize(op, {"x", x}, {"y", y});
  const bool bilinear = mode == UpsampleMode::Bilinear;
  if (detail::choose_impl(op, x.device(), x.dtype(), Backend::Auto) == Impl::Reference) {
    detail::cpu_dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::upsample_forward<T>(x.data<T>(), y.data<T>(), g, bilinear);
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::upsample_forward(x.data<float>(), y.data<float>(), g, bilinear, x.device().index));
}

void upsample_backward(const Tensor& dy, Tensor& dx, UpsampleMode mode) {
  const char* op = "upsample_backward";
  const ResizeGeometry g = check_resize(op, {"dx", dx}, {"dy", dy});
  const bool bilinear = mode == UpsampleMode::Bilinear;
  if (detail::choose_impl(op, dy.device(), dy.dtype(), Backend::Auto) == Impl::Reference) {
    detail::cpu_dispatch(dy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::upsample_backward<T>(dy.data<T>(), dx.data<T>(), g, bilinear);
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::upsample_backward(dy.data<float>(), dx.data<float>(), g, bilinear, dy.device().index));
}

}  // namespace cuseg
