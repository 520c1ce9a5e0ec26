#include "cuseg/kernels/activation.h"

#include <cmath>
#include <iterator>

#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/op.h"
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

const char* activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::Relu: return "relu";
    case ActivationKind::LeakyRelu: return "leaky_relu";
    case ActivationKind::Sigmoid: return "sigmoid";
    case ActivationKind::Tanh: return "tanh";
    case ActivationKind::Relu6: return "relu6";
    case ActivationKind::Silu: return "silu";
  }
  return "?";
}

bool activation_needs_input(ActivationKind kind) { return kind == ActivationKind::Silu; }

namespace {

void check_activation(const char* op, std::initializer_list<Arg> args, const ActivationParams& p) {
  detail::check_shapes(op, args, -1);
  detail::check_float_args(op, args);
  detail::check_same_shapes(op, args);
  CUSEG_CHECK(std::isfinite(p.negative_slope) && p.negative_slope >= 0, op, ": negative slope ", p.negative_slope,
              " must be ≥ 0 (the backward reads the sign of x from y)");
}

struct Forward {
  const Tensor& x;
  Tensor& y;
  const ActivationParams& p;
};
// x is undefined where the caller gave y alone (activation_needs_input(kind) is false then).
struct Backward {
  const Tensor& x;
  const Tensor& y;
  const Tensor& dy;
  Tensor& dx;
  const ActivationParams& p;
};

// What the derivative reads: x where the kind needs it, else y (activation_math.h).
const Tensor& saved(const Backward& a) { return activation_needs_input(a.p.kind) ? a.x : a.y; }

// The implementations every kind shares; each kind's descriptor below picks those it has.
void reference_forward(const Forward& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::activation_forward<T>(a.x.data<T>(), a.y.data<T>(), a.x.numel(), a.p.kind, T(a.p.negative_slope));
  });
}
void reference_backward(const Backward& a) {
  detail::cpu_dispatch(a.y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::activation_backward<T>(saved(a).data<T>(), a.dy.data<T>(), a.dx.data<T>(), a.y.numel(), a.p.kind,
                                T(a.p.negative_slope));
  });
}
#if CUSEG_HAS_ONEDNN
// ReLU is LeakyReLU with slope 0 on the fast path.
float fast_slope(const ActivationParams& p) {
  return p.kind == ActivationKind::Relu ? 0.f : float(p.negative_slope);
}
void fast_forward(const Forward& a) {
  fast::leaky_relu_forward(a.x.data<float>(), a.y.data<float>(), a.x.numel(), fast_slope(a.p));
}
void fast_backward(const Backward& a) {
  fast::leaky_relu_backward(a.y.data<float>(), a.dy.data<float>(), a.dx.data<float>(), a.y.numel(), fast_slope(a.p));
}
void fast_silu_forward(const Forward& a) { fast::silu_forward(a.x.data<float>(), a.y.data<float>(), a.x.numel()); }
void fast_silu_backward(const Backward& a) {
  fast::silu_backward(a.x.data<float>(), a.dy.data<float>(), a.dx.data<float>(), a.x.numel());
}
#endif
#if CUSEG_HAS_CUDA
void cuda_forward(const Forward& a) {
  cuda::activation_forward(a.x.data<float>(), a.y.data<float>(), a.x.numel(), a.p.kind, float(a.p.negative_slope),
                           a.x.device().index);
}
void cuda_backward(const Backward& a) {
  cuda::activation_backward(saved(a).data<float>(), a.dy.data<float>(), a.dx.data<float>(), a.y.numel(), a.p.kind,
                            float(a.p.negative_slope), a.y.device().index);
}
#endif
#if CUSEG_HAS_CUDNN
void cudnn_forward(const Forward& a) {
  cudnn::activation_forward(a.x.data<float>(), a.y.data<float>(), a.x.numel(), a.p.kind, a.x.device().index);
}
void cudnn_backward(const Backward& a) {
  cudnn::activation_backward(a.y.data<float>(), a.dy.data<float>(), a.dx.data<float>(), a.y.numel(), a.p.kind,
                             a.y.device().index, a.x.defined() ? a.x.data<float>() : nullptr);
}
#endif

// Indexed by ActivationKind (Relu, LeakyRelu, Sigmoid, Tanh, Relu6, Silu). The fast path has ReLU,
// LeakyReLU and SiLU (the one whose exponential is worth vectorizing: EfficientNet's everywhere);
// cuDNN has no LeakyReLU, and SiLU as CUDNN_ACTIVATION_SWISH with β = 1.
const detail::Op<Forward> kForward[] = {
    detail::define_op<Forward>({.name = "relu_forward",
                                .entry = "activation_forward",
                                .reference = reference_forward,
                                .fast = CUSEG_FAST_IMPL(fast_forward),
                                .cuda = CUSEG_CUDA_IMPL(cuda_forward),
                                .cudnn = CUSEG_CUDNN_IMPL(cudnn_forward)}),
    detail::define_op<Forward>({.name = "leaky_relu_forward",
                                .entry = "activation_forward",
                                .reference = reference_forward,
                                .fast = CUSEG_FAST_IMPL(fast_forward),
                                .cuda = CUSEG_CUDA_IMPL(cuda_forward)}),
    detail::define_op<Forward>({.name = "sigmoid_forward",
                                .entry = "activation_forward",
                                .reference = reference_forward,
                                .cuda = CUSEG_CUDA_IMPL(cuda_forward),
                                .cudnn = CUSEG_CUDNN_IMPL(cudnn_forward)}),
    detail::define_op<Forward>({.name = "tanh_forward",
                                .entry = "activation_forward",
                                .reference = reference_forward,
                                .cuda = CUSEG_CUDA_IMPL(cuda_forward),
                                .cudnn = CUSEG_CUDNN_IMPL(cudnn_forward)}),
    detail::define_op<Forward>({.name = "relu6_forward",
                                .entry = "activation_forward",
                                .reference = reference_forward,
                                .cuda = CUSEG_CUDA_IMPL(cuda_forward),
                                .cudnn = CUSEG_CUDNN_IMPL(cudnn_forward)}),
    detail::define_op<Forward>({.name = "silu_forward",
                                .entry = "activation_forward",
                                .reference = reference_forward,
                                .fast = CUSEG_FAST_IMPL(fast_silu_forward),
                                .cuda = CUSEG_CUDA_IMPL(cuda_forward),
                                .cudnn = CUSEG_CUDNN_IMPL(cudnn_forward)}),
};
const detail::Op<Backward> kBackward[] = {
    detail::define_op<Backward>({.name = "relu_backward",
                                 .entry = "activation_backward",
                                 .reference = reference_backward,
                                 .fast = CUSEG_FAST_IMPL(fast_backward),
                                 .cuda = CUSEG_CUDA_IMPL(cuda_backward),
                                 .cudnn = CUSEG_CUDNN_IMPL(cudnn_backward)}),
    detail::define_op<Backward>({.name = "leaky_relu_backward",
                                 .entry = "activation_backward",
                                 .reference = reference_backward,
                                 .fast = CUSEG_FAST_IMPL(fast_backward),
                                 .cuda = CUSEG_CUDA_IMPL(cuda_backward)}),
    detail::define_op<Backward>({.name = "sigmoid_backward",
                                 .entry = "activation_backward",
                                 .reference = reference_backward,
                                 .cuda = CUSEG_CUDA_IMPL(cuda_backward),
                                 .cudnn = CUSEG_CUDNN_IMPL(cudnn_backward)}),
    detail::define_op<Backward>({.name = "tanh_backward",
                                 .entry = "activation_backward",
                                 .reference = reference_backward,
                                 .cuda = CUSEG_CUDA_IMPL(cuda_backward),
                                 .cudnn = CUSEG_CUDNN_IMPL(cudnn_backward)}),
    detail::define_op<Backward>({.name = "relu6_backward",
                                 .entry = "activation_backward",
                                 .reference = reference_backward,
                                 .cuda = CUSEG_CUDA_IMPL(cuda_backward),
                                 .cudnn = CUSEG_CUDNN_IMPL(cudnn_backward)}),
    detail::define_op<Backward>({.name = "silu_backward",
                                 .entry = "activation_backward",
                                 .reference = reference_backward,
                                 .fast = CUSEG_FAST_IMPL(fast_silu_backward),
                                 .cuda = CUSEG_CUDA_IMPL(cuda_backward),
                                 .cudnn = CUSEG_CUDNN_IMPL(cudnn_backward)}),
};

static_assert(std::size(kForward) == std::size(kBackward) && int(ActivationKind::Silu) + 1 == std::size(kForward));

}  // namespace

void activation_forward(const Tensor& x, Tensor& y, const ActivationParams& p, Backend backend) {
  check_activation("activation_forward", {{"x", x}, {"y", y}}, p);
  detail::run(kForward[int(p.kind)], x, backend, {x, y, p});
}

void activation_backward(const Tensor& y, const Tensor& dy, Tensor& dx, const ActivationParams& p, Backend backend) {
  CUSEG_CHECK(!activation_needs_input(p.kind), "activation_backward: ", activation_name(p.kind),
              "'s derivative is not a function of y alone: pass x too (activation_backward(x, y, dy, dx, ...))");
  check_activation("activation_backward", {{"y", y}, {"dy", dy}, {"dx", dx}}, p);
  const Tensor no_x;
  detail::run(kBackward[int(p.kind)], y, backend, {no_x, y, dy, dx, p});
}

void activation_backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx, const ActivationParams& p,
                         Backend backend) {
  check_activation("activation_backward", {{"x", x}, {"y", y}, {"dy", dy}, {"dx", dx}}, p);
  detail::run(kBackward[int(p.kind)], y, backend, {x, y, dy, dx, p});
}

}  // namespace cuseg
