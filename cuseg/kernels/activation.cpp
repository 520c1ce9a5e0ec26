#include "cuseg/kernels/activation.h"

#include <cmath>

#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/pointwise.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pointwise.h"
#endif
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/activation.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

const char* activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::Relu: return "relu";
    case ActivationKind::LeakyRelu: return "leaky_relu";
    case ActivationKind::Sigmoid: return "sigmoid";
    case ActivationKind::Tanh: return "tanh";
  }
  return "?";
}

namespace {

Impl check_activation(const char* op, std::initializer_list<Arg> args, const ActivationParams& p, Backend backend) {
  detail::check_shapes(op, args, -1);
  detail::check_float_args(op, args);
  detail::check_same_shapes(op, args);
  CUSEG_CHECK(std::isfinite(p.negative_slope) && p.negative_slope >= 0, op, ": negative slope ", p.negative_slope,
              " must be ≥ 0 (the backward reads the sign of x from y)");
  // The fast path has ReLU and LeakyReLU; sigmoid and tanh run their reference.
  const bool has_fast = p.kind == ActivationKind::Relu || p.kind == ActivationKind::LeakyRelu;
  const Impl impl =
      detail::choose_impl(op, args.begin()->tensor.device(), args.begin()->tensor.dtype(), backend, has_fast);
  CUSEG_CHECK(impl != Impl::Cudnn || p.kind != ActivationKind::LeakyRelu, op, ": cuDNN has no LeakyReLU");
  return impl;
}

}  // namespace

void activation_forward(const Tensor& x, Tensor& y, const ActivationParams& p, Backend backend) {
  const char* op = "activation_forward";
  const Impl impl = check_activation(op, {{"x", x}, {"y", y}}, p, backend);
  const int64_t n = x.numel();
  switch (impl) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::leaky_relu_forward(x.data<float>(), y.data<float>(), n,
                                               p.kind == ActivationKind::Relu ? 0.f : float(p.negative_slope)));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::activation_forward<T>(x.data<T>(), y.data<T>(), n, p.kind, T(p.negative_slope));
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::activation_forward(x.data<float>(), y.data<float>(), n, p.kind, float(p.negative_slope),
                                             x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::activation_forward(x.data<float>(), y.data<float>(), n, p.kind, x.device().index));
      break;
  }
}

void activation_backward(const Tensor& y, const Tensor& dy, Tensor& dx, const ActivationParams& p, Backend backend) {
  const char* op = "activation_backward";
  const Impl impl = check_activation(op, {{"y", y}, {"dy", dy}, {"dx", dx}}, p, backend);
  const int64_t n = y.numel();
  switch (impl) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::leaky_relu_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), n,
                                                p.kind == ActivationKind::Relu ? 0.f : float(p.negative_slope)));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(y.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::activation_backward<T>(y.data<T>(), dy.data<T>(), dx.data<T>(), n, p.kind, T(p.negative_slope));
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::activation_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), n, p.kind,
                                              float(p.negative_slope), y.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::activation_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), n, p.kind,
                                                y.device().index));
      break;
  }
}

}  // namespace cuseg
