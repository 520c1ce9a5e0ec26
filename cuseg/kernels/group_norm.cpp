#include "cuseg/kernels/group_norm.h"

#include <cmath>

#include "cuseg/kernels/cpu/group_norm.h"
#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/op.h"
#include "cuseg/kernels/relu_fusion.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/group_norm.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/group_norm.h"
#include "cuseg/kernels/cuda/pointwise.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

// x [N,H,W,C] and its same-shaped companions; per-channel vectors [C]; per-group statistics [N,G].
GroupGeometry check_group_norm(const char* op, std::initializer_list<Arg> images,
                               std::initializer_list<Arg> channels,
                               std::initializer_list<Arg> groups, const GroupNormParams& p) {
  detail::check_shapes(op, images, 4);
  detail::check_same_shapes(op, images);
  const Arg& first = *images.begin();
  const Tensor& x = first.tensor;
  for (const auto& list : {images, channels, groups})
    for (const Arg& a : list) detail::check_float_args(op, {first, a});
  const int64_t c = x.dim(3);
  CUSEG_CHECK(p.groups > 0 && c % p.groups == 0, op, ": ", c, " channels do not split into ",
              p.groups, " groups (", x.shape().str(), ")");
  CUSEG_CHECK(std::isfinite(p.eps) && p.eps > 0, op, ": eps ", p.eps, " must be > 0");
  for (const Arg& a : channels) detail::check_exact(op, a, x.device(), x.dtype(), Shape{c});
  for (const Arg& a : groups)
    detail::check_exact(op, a, x.device(), x.dtype(), Shape{x.dim(0), p.groups});
  return {int(x.dim(0)), x.dim(1) * x.dim(2), int(c), p.groups};
}

// ---- the ops' descriptors (op.h) ----------------------------------------------------------
// The plain and the ReLU-fused ops share their implementations, `relu` (forward) and a defined
// `y` (backward) telling them apart: the fast path fuses the two (it clamps as it writes, and
// masks dy by y > 0 as it reads); the others run the same implementation's ReLU after the
// forward (in place) and before the backward (into a temporary).

struct Forward {
  const Tensor& x;
  const Tensor& gamma;
  const Tensor& beta;
  Tensor& y;
  Tensor& save_mean;
  Tensor& save_invstd;
  const GroupGeometry& g;
  const GroupNormParams& p;
  bool relu;
};
struct Backward {
  const Tensor& x;
  const Tensor& y;  // the fused ReLU's output, or undefined (no ReLU)
  const Tensor& dy;
  const Tensor& gamma;
  const Tensor& save_mean;
  const Tensor& save_invstd;
  Tensor& dx;
  Tensor& dgamma;
  Tensor& dbeta;
  const GroupGeometry& g;
};

void reference_forward(const Forward& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::group_norm_forward<T>(a.x.data<T>(), a.gamma.data<T>(), a.beta.data<T>(), a.y.data<T>(),
                               a.save_mean.data<T>(), a.save_invstd.data<T>(), a.g, a.p.eps);
    if (a.relu)
      cpu::activation_forward<T>(a.y.data<T>(), a.y.data<T>(), a.y.numel(), ActivationKind::Relu,
                                 T(0));
  });
}
void reference_backward(const Backward& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor g = detail::relu_upstream(a, [&](Tensor& out) {
      cpu::activation_backward<T>(a.y.data<T>(), a.dy.data<T>(), out.data<T>(), a.dy.numel(),
                                  ActivationKind::Relu, T(0));
    });
    cpu::group_norm_backward<T>(a.x.data<T>(), g.data<T>(), a.gamma.data<T>(),
                                a.save_mean.data<T>(), a.save_invstd.data<T>(), a.dx.data<T>(),
                                a.dgamma.data<T>(), a.dbeta.data<T>(), a.g);
  });
}

#if CUSEG_HAS_ONEDNN
void fast_forward(const Forward& a) {
  fast::group_norm_forward(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(),
                           a.y.data<float>(), a.save_mean.data<float>(),
                           a.save_invstd.data<float>(), a.g, a.p.eps, a.relu);
}
void fast_backward(const Backward& a) {
  fast::group_norm_backward(a.x.data<float>(), a.y.defined() ? a.y.data<float>() : nullptr,
                            a.dy.data<float>(), a.gamma.data<float>(), a.save_mean.data<float>(),
                            a.save_invstd.data<float>(), a.dx.data<float>(), a.dgamma.data<float>(),
                            a.dbeta.data<float>(), a.g);
}
#endif

#if CUSEG_HAS_CUDA
void cuda_forward(const Forward& a) {
  const int device = a.x.device().index;
  cuda::group_norm_forward(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(),
                           a.y.data<float>(), a.save_mean.data<float>(),
                           a.save_invstd.data<float>(), a.g, a.p.eps, device);
  if (a.relu)
    cuda::activation_forward(a.y.data<float>(), a.y.data<float>(), a.y.numel(),
                             ActivationKind::Relu, 0.f, device);
}
void cuda_backward(const Backward& a) {
  const int device = a.x.device().index;
  const Tensor g = detail::relu_upstream(a, [&](Tensor& out) {
    cuda::activation_backward(a.y.data<float>(), a.dy.data<float>(), out.data<float>(),
                              a.dy.numel(), ActivationKind::Relu, 0.f, device);
  });
  cuda::group_norm_backward(a.x.data<float>(), g.data<float>(), a.gamma.data<float>(),
                            a.save_mean.data<float>(), a.save_invstd.data<float>(),
                            a.dx.data<float>(), a.dgamma.data<float>(), a.dbeta.data<float>(), a.g,
                            device);
}
#endif

#define CUSEG_GN_OP(Args, op, direction)                              \
  detail::define_op<Args>({.name = op,                                \
                           .entry = op,                               \
                           .reference = reference_##direction,        \
                           .fast = CUSEG_FAST_IMPL(fast_##direction), \
                           .cuda = CUSEG_CUDA_IMPL(cuda_##direction)})
const auto kForward = CUSEG_GN_OP(Forward, "group_norm_forward", forward);
const auto kBackward = CUSEG_GN_OP(Backward, "group_norm_backward", backward);
const auto kReluForward = CUSEG_GN_OP(Forward, "group_norm_relu_forward", forward);
const auto kReluBackward = CUSEG_GN_OP(Backward, "group_norm_relu_backward", backward);
#undef CUSEG_GN_OP

void forward(const detail::Op<Forward>& op, const Tensor& x, const Tensor& gamma,
             const Tensor& beta, Tensor& y, Tensor& save_mean, Tensor& save_invstd,
             const GroupNormParams& p, Backend backend, bool relu) {
  const GroupGeometry g =
      check_group_norm(op.name, {{"x", x}, {"y", y}}, {{"gamma", gamma}, {"beta", beta}},
                       {{"save_mean", save_mean}, {"save_invstd", save_invstd}}, p);
  detail::run(op, x, backend, {x, gamma, beta, y, save_mean, save_invstd, g, p, relu});
}

void backward(const detail::Op<Backward>& op, const Tensor& x, const Tensor& y, const Tensor& dy,
              const Tensor& gamma, const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
              Tensor& dgamma, Tensor& dbeta, const GroupNormParams& p, Backend backend) {
  const std::initializer_list<Arg> channels = {
      {"gamma", gamma}, {"dgamma", dgamma}, {"dbeta", dbeta}};
  const std::initializer_list<Arg> groups = {{"save_mean", save_mean},
                                             {"save_invstd", save_invstd}};
  const GroupGeometry g =
      y.defined()
          ? check_group_norm(op.name, {{"x", x}, {"y", y}, {"dy", dy}, {"dx", dx}}, channels,
                             groups, p)
          : check_group_norm(op.name, {{"x", x}, {"dy", dy}, {"dx", dx}}, channels, groups, p);
  detail::run(op, x, backend, {x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, g});
}

}  // namespace

void group_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                        Tensor& save_mean, Tensor& save_invstd, const GroupNormParams& p,
                        Backend backend) {
  forward(kForward, x, gamma, beta, y, save_mean, save_invstd, p, backend, false);
}

void group_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                         Tensor& dgamma, Tensor& dbeta, const GroupNormParams& p, Backend backend) {
  backward(kBackward, x, Tensor(), dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, p,
           backend);
}

void group_norm_relu_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                             Tensor& save_mean, Tensor& save_invstd, const GroupNormParams& p,
                             Backend backend) {
  forward(kReluForward, x, gamma, beta, y, save_mean, save_invstd, p, backend, true);
}

void group_norm_relu_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                              const Tensor& gamma, const Tensor& save_mean,
                              const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                              const GroupNormParams& p, Backend backend) {
  CUSEG_CHECK(y.defined(), "group_norm_relu_backward: y (the forward's output) is undefined");
  backward(kReluBackward, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, p, backend);
}

}  // namespace cuseg
