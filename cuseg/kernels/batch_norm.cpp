#include "cuseg/kernels/batch_norm.h"

#include <cmath>

#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/cpu/batch_norm.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/batch_norm.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/batch_norm.h"
#endif
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/batch_norm.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

namespace {

struct BnShape {
  int n, h, w, c;
  int64_t rows;
  Impl impl;
};

// x [N,H,W,C] and its same-shaped companions; per-channel vectors [C].
BnShape check_bn(const char* op, std::initializer_list<Arg> images, std::initializer_list<Arg> vectors,
                 const BatchNormParams& p, Backend backend, bool training) {
  detail::check_shapes(op, images, 4);
  detail::check_same_shapes(op, images);
  const Tensor& x = images.begin()->tensor;
  detail::check_shapes(op, vectors, 1);
  for (const Arg& a : images) detail::check_float_args(op, {*images.begin(), a});
  for (const Arg& a : vectors) detail::check_float_args(op, {*images.begin(), a});
  for (const Arg& v : vectors)
    CUSEG_CHECK(v.tensor.dim(0) == x.dim(3), op, ": ", v.name, " has ", v.tensor.dim(0), " entries for ", x.dim(3),
                " channels (", detail::describe({*images.begin(), v}), ")");
  CUSEG_CHECK(std::isfinite(p.eps) && p.eps > 0, op, ": eps ", p.eps, " must be > 0");
  CUSEG_CHECK(std::isfinite(p.momentum) && p.momentum >= 0 && p.momentum <= 1, op, ": momentum ", p.momentum,
              " must be in [0, 1]");
  CUSEG_CHECK(x.numel() < (int64_t(1) << 31), op, ": ", x.str(), " has 2^31 elements or more");
  const int64_t rows = x.numel() / x.dim(3);
  CUSEG_CHECK(!training || rows > 1, op, ": training needs more than one value per channel (",
              x.shape().str(), ")");
  return {int(x.dim(0)), int(x.dim(1)), int(x.dim(2)), int(x.dim(3)), rows,
          detail::choose_impl(op, x.device(), x.dtype(), backend, /*has_fast=*/true)};
}

const ActivationParams kRelu{ActivationKind::Relu};

// The forward of training, then ReLU on y where `relu`. The fast path fuses the two; the others
// run activation_forward in place.
void forward_training(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                      Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                      const BatchNormParams& p, Backend backend, bool relu) {
  const BnShape s = check_bn(op, {{"x", x}, {"y", y}},
                             {{"gamma", gamma}, {"beta", beta}, {"save_mean", save_mean}, {"save_invstd", save_invstd},
                              {"running_mean", running_mean}, {"running_var", running_var}},
                             p, backend, true);
  switch (s.impl) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::batch_norm_forward_training(
          x.data<float>(), gamma.data<float>(), beta.data<float>(), y.data<float>(), save_mean.data<float>(),
          save_invstd.data<float>(), running_mean.data<float>(), running_var.data<float>(), s.rows, s.c, p.eps,
          p.momentum, relu));
      return;
    case Impl::Reference:
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::batch_norm_forward_training<T>(x.data<T>(), gamma.data<T>(), beta.data<T>(), y.data<T>(),
                                            save_mean.data<T>(), save_invstd.data<T>(), running_mean.data<T>(),
                                            running_var.data<T>(), s.rows, s.c, p.eps, p.momentum);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::batch_norm_forward_training(
          x.data<float>(), gamma.data<float>(), beta.data<float>(), y.data<float>(), save_mean.data<float>(),
          save_invstd.data<float>(), running_mean.data<float>(), running_var.data<float>(), s.rows, s.c, p.eps,
          p.momentum, x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::batch_norm_forward_training(
          x.data<float>(), gamma.data<float>(), beta.data<float>(), y.data<float>(), save_mean.data<float>(),
          save_invstd.data<float>(), running_mean.data<float>(), running_var.data<float>(), s.n, s.h, s.w, s.c, p.eps,
          p.momentum, x.device().index));
      break;
  }
  if (relu) activation_forward(y, y, kRelu, backend);
}

void forward_inference(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       const Tensor& running_mean, const Tensor& running_var, Tensor& y, const BatchNormParams& p,
                       Backend backend, bool relu) {
  const BnShape s = check_bn(op, {{"x", x}, {"y", y}},
                             {{"gamma", gamma}, {"beta", beta}, {"running_mean", running_mean}, {"running_var", running_var}},
                             p, backend, false);
  switch (s.impl) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(fast::batch_norm_forward_inference(x.data<float>(), gamma.data<float>(), beta.data<float>(),
                                                         running_mean.data<float>(), running_var.data<float>(),
                                                         y.data<float>(), s.rows, s.c, p.eps, relu));
      return;
    case Impl::Reference:
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::batch_norm_forward_inference<T>(x.data<T>(), gamma.data<T>(), beta.data<T>(), running_mean.data<T>(),
                                             running_var.data<T>(), y.data<T>(), s.rows, s.c, p.eps);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::batch_norm_forward_inference(x.data<float>(), gamma.data<float>(), beta.data<float>(),
                                                       running_mean.data<float>(), running_var.data<float>(),
                                                       y.data<float>(), s.rows, s.c, p.eps, x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::batch_norm_forward_inference(x.data<float>(), gamma.data<float>(), beta.data<float>(),
                                                         running_mean.data<float>(), running_var.data<float>(),
                                                         y.data<float>(), s.n, s.h, s.w, s.c, p.eps, x.device().index));
      break;
  }
  if (relu) activation_forward(y, y, kRelu, backend);
}

// The backward; with a defined `y` (the output of a fused ReLU) of dy·[y > 0]: the fast path
// masks dy on the fly, the others through activation_backward into a temporary.
void backward(const char* op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& gamma,
              const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
              const BatchNormParams& p, Backend backend) {
  const bool relu = y.defined();
  const BnShape s = relu ? check_bn(op, {{"x", x}, {"y", y}, {"dy", dy}, {"dx", dx}},
                                    {{"gamma", gamma}, {"save_mean", save_mean}, {"save_invstd", save_invstd},
                                     {"dgamma", dgamma}, {"dbeta", dbeta}},
                                    p, backend, true)
                         : check_bn(op, {{"x", x}, {"dy", dy}, {"dx", dx}},
                                    {{"gamma", gamma}, {"save_mean", save_mean}, {"save_invstd", save_invstd},
                                     {"dgamma", dgamma}, {"dbeta", dbeta}},
                                    p, backend, true);
  if (s.impl == Impl::Fast) {
    CUSEG_IF_ONEDNN(fast::batch_norm_backward(x.data<float>(), relu ? y.data<float>() : nullptr, dy.data<float>(),
                                              gamma.data<float>(), save_mean.data<float>(),
                                              save_invstd.data<float>(), dx.data<float>(), dgamma.data<float>(),
                                              dbeta.data<float>(), s.rows, s.c));
    return;
  }
  Tensor g = dy;
  if (relu) {
    g = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
    activation_backward(y, dy, g, kRelu, backend);
  }
  switch (s.impl) {
    case Impl::Fast:
      break;  // above
    case Impl::Reference:
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        cpu::batch_norm_backward<T>(x.data<T>(), g.data<T>(), gamma.data<T>(), save_mean.data<T>(),
                                    save_invstd.data<T>(), dx.data<T>(), dgamma.data<T>(), dbeta.data<T>(), s.rows, s.c);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::batch_norm_backward(x.data<float>(), g.data<float>(), gamma.data<float>(),
                                              save_mean.data<float>(), save_invstd.data<float>(), dx.data<float>(),
                                              dgamma.data<float>(), dbeta.data<float>(), s.rows, s.c, x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::batch_norm_backward(x.data<float>(), g.data<float>(), gamma.data<float>(),
                                                save_mean.data<float>(), save_invstd.data<float>(), dx.data<float>(),
                                                dgamma.data<float>(), dbeta.data<float>(), s.n, s.h, s.w, s.c, p.eps,
                                                x.device().index));
      break;
  }
}

}  // namespace


void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                                 Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                                 const BatchNormParams& p, Backend backend) {
  forward_training("batch_norm_forward_training", x, gamma, beta, y, save_mean, save_invstd, running_mean,
                   running_var, p, backend, false);
}

void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                  const BatchNormParams& p, Backend backend) {
  forward_inference("batch_norm_forward_inference", x, gamma, beta, running_mean, running_var, y, p, backend, false);
}

void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                         const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta, const BatchNormParams& p,
                         Backend backend) {
  backward("batch_norm_backward", x, Tensor(), dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, p, backend);
}

void batch_norm_relu_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                                      Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean,
                                      Tensor& running_var, const BatchNormParams& p, Backend backend) {
  forward_training("batch_norm_relu_forward_training", x, gamma, beta, y, save_mean, save_invstd, running_mean,
                   running_var, p, backend, true);
}

void batch_norm_relu_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                       const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                       const BatchNormParams& p, Backend backend) {
  forward_inference("batch_norm_relu_forward_inference", x, gamma, beta, running_mean, running_var, y, p, backend,
                    true);
}

void batch_norm_relu_backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& gamma,
                              const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                              Tensor& dbeta, const BatchNormParams& p, Backend backend) {
  CUSEG_CHECK(y.defined(), "batch_norm_relu_backward: y (the forward's output) is undefined");
  backward("batch_norm_relu_backward", x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, p, backend);
}

}  // namespace cuseg
