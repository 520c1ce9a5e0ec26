#include "cuseg/kernels/group_norm.h"

#include <cmath>

#include "cuseg/kernels/cpu/group_norm.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/group_norm.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/group_norm.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

// x [N,H,W,C] and its same-shaped companions; per-channel vectors [C]; per-group statistics [N,G].
GroupGeometry check_group_norm(const char* op, std::initializer_list<Arg> images, std::initializer_list<Arg> channels,
                               std::initializer_list<Arg> groups, const GroupNormParams& p) {
  detail::check_shapes(op, images, 4);
  detail::check_same_shapes(op, images);
  const Arg& first = *images.begin();
  const Tensor& x = first.tensor;
  for (const auto& list : {images, channels, groups})
    for (const Arg& a : list) detail::check_float_args(op, {first, a});
  const int64_t c = x.dim(3);
  CUSEG_CHECK(p.groups > 0 && c % p.groups == 0, op, ": ", c, " channels do not split into ", p.groups,
              " groups (", x.shape().str(), ")");
  CUSEG_CHECK(std::isfinite(p.eps) && p.eps > 0, op, ": eps ", p.eps, " must be > 0");
  for (const Arg& a : channels) detail::check_exact(op, a, x.device(), x.dtype(), Shape{c});
  for (const Arg& a : groups) detail::check_exact(op, a, x.device(), x.dtype(), Shape{x.dim(0), p.groups});
  return {int(x.dim(0)), x.dim(1) * x.dim(2), int(c), p.groups};
}

struct Forward {
  const Tensor& x;
  const Tensor& gamma;
  const Tensor& beta;
  Tensor& y;
  Tensor& save_mean;
  Tensor& save_invstd;
  const GroupGeometry& g;
  const GroupNormParams& p;
};
struct Backward {
  const Tensor& x;
  const Tensor& dy;
  const Tensor& gamma;
  const Tensor& save_mean;
  const Tensor& save_invstd;
  Tensor& dx;
  Tensor& dgamma;
  Tensor& dbeta;
  const GroupGeometry& g;
};

const auto kForward = detail::define_op<Forward>({
    .name = "group_norm_forward",
    .entry = "group_norm_forward",
    .reference =
        [](const Forward& a) {
          detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::group_norm_forward<T>(a.x.data<T>(), a.gamma.data<T>(), a.beta.data<T>(), a.y.data<T>(),
                                       a.save_mean.data<T>(), a.save_invstd.data<T>(), a.g, a.p.eps);
          });
        },
    .fast = CUSEG_FAST_IMPL([](const Forward& a) {
      fast::group_norm_forward(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(), a.y.data<float>(),
                               a.save_mean.data<float>(), a.save_invstd.data<float>(), a.g, a.p.eps);
    }),
    .cuda = CUSEG_CUDA_IMPL([](const Forward& a) {
      cuda::group_norm_forward(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(), a.y.data<float>(),
                               a.save_mean.data<float>(), a.save_invstd.data<float>(), a.g, a.p.eps,
                               a.x.device().index);
    }),
});

const auto kBackward = detail::define_op<Backward>({
    .name = "group_norm_backward",
    .entry = "group_norm_backward",
    .reference =
        [](const Backward& a) {
          detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::group_norm_backward<T>(a.x.data<T>(), a.dy.data<T>(), a.gamma.data<T>(), a.save_mean.data<T>(),
                                        a.save_invstd.data<T>(), a.dx.data<T>(), a.dgamma.data<T>(),
                                        a.dbeta.data<T>(), a.g);
          });
        },
    .fast = CUSEG_FAST_IMPL([](const Backward& a) {
      fast::group_norm_backward(a.x.data<float>(), a.dy.data<float>(), a.gamma.data<float>(),
                                a.save_mean.data<float>(), a.save_invstd.data<float>(), a.dx.data<float>(),
                                a.dgamma.data<float>(), a.dbeta.data<float>(), a.g);
    }),
    .cuda = CUSEG_CUDA_IMPL([](const Backward& a) {
      cuda::group_norm_backward(a.x.data<float>(), a.dy.data<float>(), a.gamma.data<float>(),
                                a.save_mean.data<float>(), a.save_invstd.data<float>(), a.dx.data<float>(),
                                a.dgamma.data<float>(), a.dbeta.data<float>(), a.g, a.x.device().index);
    }),
});

}  // namespace

void group_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& save_mean,
                        Tensor& save_invstd, const GroupNormParams& p, Backend backend) {
  const GroupGeometry g = check_group_norm(kForward.name, {{"x", x}, {"y", y}}, {{"gamma", gamma}, {"beta", beta}},
                                           {{"save_mean", save_mean}, {"save_invstd", save_invstd}}, p);
  detail::run(kForward, x, backend, {x, gamma, beta, y, save_mean, save_invstd, g, p});
}

void group_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                         const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                         const GroupNormParams& p, Backend backend) {
  const GroupGeometry g =
      check_group_norm(kBackward.name, {{"x", x}, {"dy", dy}, {"dx", dx}},
                       {{"gamma", gamma}, {"dgamma", dgamma}, {"dbeta", dbeta}},
                       {{"save_mean", save_mean}, {"save_invstd", save_invstd}}, p);
  detail::run(kBackward, x, backend, {x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, g});
}

}  // namespace cuseg
