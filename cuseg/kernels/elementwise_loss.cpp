#include "cuseg/kernels/elementwise_loss.h"

#include <cmath>

#include "cuseg/kernels/cpu/elementwise_loss.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/elementwise_loss.h"
#endif

namespace cuseg {

using detail::Impl;

namespace {

Impl check_loss(const char* op, const Tensor& x, const Tensor& target, const Tensor& pos_weight,
                const detail::Arg& out, const ElementwiseLossParams& p) {
  detail::check_shapes(op, {{"x", x}, {"target", target}}, -1);
  detail::check_float_args(op, {{"x", x}, {"target", target}, out});
  detail::check_same_shapes(op, {{"x", x}, {"target", target}});
  CUSEG_CHECK(x.rank() >= 1, op, ": x needs at least one dimension");
  if (pos_weight.defined()) {
    CUSEG_CHECK(p.kind == ElementwiseLossKind::Bce, op, ": pos_weight applies to bce only");
    detail::check_exact(op, {"pos_weight", pos_weight}, x.device(), x.dtype(), Shape{x.dim(x.rank() - 1)});
  }
  CUSEG_CHECK(std::isfinite(p.beta) && p.beta > 0, op, ": beta ", p.beta, " must be > 0");
  return detail::choose_impl(op, x.device(), x.dtype(), Backend::Auto);
}

}  // namespace

void elementwise_loss_forward(const Tensor& x, const Tensor& target, const Tensor& pos_weight, Tensor& loss,
                              const ElementwiseLossParams& p) {
  const char* op = "elementwise_loss_forward";
  const Impl impl = check_loss(op, x, target, pos_weight, {"loss", loss}, p);
  detail::check_exact(op, {"loss", loss}, x.device(), x.dtype(), Shape{1});
  const int channels = int(x.dim(x.rank() - 1));
  if (impl == Impl::Reference) {
    detail::cpu_dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::elementwise_loss_forward<T>(x.data<T>(), target.data<T>(), pos_weight.defined() ? pos_weight.data<T>() : nullptr,
                                       loss.data<T>(), x.numel(), channels, p);
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::elementwise_loss_forward(x.data<float>(), target.data<float>(),
                                               pos_weight.defined() ? pos_weight.data<float>() : nullptr,
                                               loss.data<float>(), x.numel(), channels, p, x.device().index));
}

void elementwise_loss_backward(const Tensor& x, const Tensor& target, const Tensor& pos_weight, Tensor& dx,
                               double loss_grad, const ElementwiseLossParams& p) {
  const char* op = "elementwise_loss_backward";
  const Impl impl = check_loss(op, x, target, pos_weight, {"dx", dx}, p);
  detail::check_same_shapes(op, {{"x", x}, {"dx", dx}});
  const int channels = int(x.dim(x.rank() - 1));
  if (impl == Impl::Reference) {
    detail::cpu_dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cpu::elementwise_loss_backward<T>(x.data<T>(), target.data<T>(),
                                        pos_weight.defined() ? pos_weight.data<T>() : nullptr, dx.data<T>(), x.numel(),
                                        channels, loss_grad, p);
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::elementwise_loss_backward(x.data<float>(), target.data<float>(),
                                                pos_weight.defined() ? pos_weight.data<float>() : nullptr,
                                                dx.data<float>(), x.numel(), channels, loss_grad, p, x.device().index));
}

}  // namespace cuseg
