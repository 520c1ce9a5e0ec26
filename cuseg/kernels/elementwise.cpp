#include "cuseg/kernels/elementwise.h"

#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pointwise.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

namespace {

Impl check_elementwise(const char* op, std::initializer_list<Arg> args) {
  detail::check_shapes(op, args, -1);
  detail::check_float_args(op, args);
  detail::check_same_shapes(op, args);
  return detail::choose_impl(op, args.begin()->tensor.device(), args.begin()->tensor.dtype(), Backend::Auto);
}

}  // namespace

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const Impl impl = check_elementwise("add", {{"a", a}, {"b", b}, {"out", out}});
  if (impl == Impl::Reference) {
    detail::cpu_dispatch(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::add<T>(a.data<T>(), b.data<T>(), out.data<T>(), a.numel());
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::add(a.data<float>(), b.data<float>(), out.data<float>(), a.numel(), a.device().index));
}

void scale(const Tensor& x, double alpha, Tensor& out) {
  const Impl impl = check_elementwise("scale", {{"x", x}, {"out", out}});
  if (impl == Impl::Reference) {
    detail::cpu_dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::scale<T>(x.data<T>(), T(alpha), out.data<T>(), x.numel());
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::scale(x.data<float>(), float(alpha), out.data<float>(), x.numel(), x.device().index));
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  const Impl impl = check_elementwise("axpy", {{"x", x}, {"y", y}});
  if (impl == Impl::Reference) {
    detail::cpu_dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::axpy<T>(T(alpha), x.data<T>(), y.data<T>(), x.numel());
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::axpy(float(alpha), x.data<float>(), y.data<float>(), x.numel(), x.device().index));
}

}  // namespace cuseg
