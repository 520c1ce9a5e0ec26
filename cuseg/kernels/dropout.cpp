#include "cuseg/kernels/dropout.h"

#include <cmath>

#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pointwise.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

namespace {

Impl check_dropout(const char* op, const Arg& a, const Arg& b, const Arg& mask, const DropoutParams& p) {
  detail::check_shapes(op, {a, b, mask}, -1);
  detail::check_float_args(op, {a, b});
  detail::check_same_shapes(op, {a, b, mask});
  detail::check_exact(op, mask, a.tensor.device(), DType::U8, a.tensor.shape());
  CUSEG_CHECK(std::isfinite(p.p) && p.p >= 0 && p.p <= 1, op, ": probability ", p.p, " is not in [0, 1]");
  return detail::choose_impl(op, a.tensor.device(), a.tensor.dtype(), Backend::Auto);
}

}  // namespace

void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p) {
  const Impl impl = check_dropout("dropout_forward", {"x", x}, {"y", y}, {"mask", mask}, p);
  if (impl == Impl::Reference) {
    detail::cpu_dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::dropout_forward<T>(x.data<T>(), y.data<T>(), mask.data<uint8_t>(), x.numel(), p.p, p.seed, p.offset);
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::dropout_forward(x.data<float>(), y.data<float>(), mask.data<uint8_t>(), x.numel(), p.p, p.seed,
                                      p.offset, x.device().index));
}

void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p) {
  const Impl impl = check_dropout("dropout_backward", {"dy", dy}, {"dx", dx}, {"mask", mask}, p);
  if (impl == Impl::Reference) {
    detail::cpu_dispatch(dy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::dropout_backward<T>(dy.data<T>(), mask.data<uint8_t>(), dx.data<T>(), dy.numel(), p.p);
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::dropout_backward(dy.data<float>(), mask.data<uint8_t>(), dx.data<float>(), dy.numel(), p.p,
                                       dy.device().index));
}

}  // namespace cuseg
