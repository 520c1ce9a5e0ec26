#include "cuseg/kernels/batch_norm.h"

#include <cmath>

#include "cuseg/kernels/cpu/batch_norm.h"
#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/op.h"
#include "cuseg/kernels/relu_fusion.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/batch_norm.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/batch_norm.h"
#include "cuseg/kernels/cuda/pointwise.h"
#endif
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/activation.h"
#include "cuseg/kernels/cudnn/batch_norm.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

struct BnShape {
  int n, h, w, c;
  int64_t rows;
};

// x [N,H,W,C] and its same-shaped companions; per-channel vectors [C].
BnShape check_bn(const char* op, std::initializer_list<Arg> images, std::initializer_list<Arg> vectors,
                 const BatchNormParams& p, bool training) {
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
  return {int(x.dim(0)), int(x.dim(1)), int(x.dim(2)), int(x.dim(3)), rows};
}

// ---- the ops' descriptors (op.h) ----------------------------------------------------------
// The plain and the ReLU-fused ops share their implementations, `relu` telling them apart: the
// fast path fuses the two (it clamps as it writes, and masks dy by y > 0 as it reads); the
// others run the same implementation's ReLU after the forward (in place) and before the backward
// (into a temporary).

struct Training {
  const Tensor& x;
  const Tensor& gamma;
  const Tensor& beta;
  Tensor& y;
  Tensor& save_mean;
  Tensor& save_invstd;
  Tensor& running_mean;
  Tensor& running_var;
  const BnShape& s;
  const BatchNormParams& p;
  bool relu;
};
struct Inference {
  const Tensor& x;
  const Tensor& gamma;
  const Tensor& beta;
  const Tensor& running_mean;
  const Tensor& running_var;
  Tensor& y;
  const BnShape& s;
  const BatchNormParams& p;
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
  const BnShape& s;
  const BatchNormParams& p;
};

// -- reference
void reference_training(const Training& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::batch_norm_forward_training<T>(a.x.data<T>(), a.gamma.data<T>(), a.beta.data<T>(), a.y.data<T>(),
                                        a.save_mean.data<T>(), a.save_invstd.data<T>(), a.running_mean.data<T>(),
                                        a.running_var.data<T>(), a.s.rows, a.s.c, a.p.eps, a.p.momentum);
    if (a.relu) cpu::activation_forward<T>(a.y.data<T>(), a.y.data<T>(), a.y.numel(), ActivationKind::Relu, T(0));
  });
}
void reference_inference(const Inference& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::batch_norm_forward_inference<T>(a.x.data<T>(), a.gamma.data<T>(), a.beta.data<T>(), a.running_mean.data<T>(),
                                         a.running_var.data<T>(), a.y.data<T>(), a.s.rows, a.s.c, a.p.eps);
    if (a.relu) cpu::activation_forward<T>(a.y.data<T>(), a.y.data<T>(), a.y.numel(), ActivationKind::Relu, T(0));
  });
}
void reference_backward(const Backward& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor g = detail::relu_upstream(a, [&](Tensor& out) {
      cpu::activation_backward<T>(a.y.data<T>(), a.dy.data<T>(), out.data<T>(), a.dy.numel(), ActivationKind::Relu,
                                  T(0));
    });
    cpu::batch_norm_backward<T>(a.x.data<T>(), g.data<T>(), a.gamma.data<T>(), a.save_mean.data<T>(),
                                a.save_invstd.data<T>(), a.dx.data<T>(), a.dgamma.data<T>(), a.dbeta.data<T>(),
                                a.s.rows, a.s.c);
  });
}

// -- fast
#if CUSEG_HAS_ONEDNN
void fast_training(const Training& a) {
  fast::batch_norm_forward_training(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(), a.y.data<float>(),
                                    a.save_mean.data<float>(), a.save_invstd.data<float>(),
                                    a.running_mean.data<float>(), a.running_var.data<float>(), a.s.rows, a.s.c,
                                    a.p.eps, a.p.momentum, a.relu);
}
void fast_inference(const Inference& a) {
  fast::batch_norm_forward_inference(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(),
                                     a.running_mean.data<float>(), a.running_var.data<float>(), a.y.data<float>(),
                                     a.s.rows, a.s.c, a.p.eps, a.relu);
}
void fast_backward(const Backward& a) {
  fast::batch_norm_backward(a.x.data<float>(), a.y.defined() ? a.y.data<float>() : nullptr, a.dy.data<float>(),
                            a.gamma.data<float>(), a.save_mean.data<float>(), a.save_invstd.data<float>(),
                            a.dx.data<float>(), a.dgamma.data<float>(), a.dbeta.data<float>(), a.s.rows, a.s.c);
}
#endif

// -- cuda
#if CUSEG_HAS_CUDA
void cuda_relu(const Tensor& y, int device) {
  cuda::activation_forward(y.data<float>(), y.data<float>(), y.numel(), ActivationKind::Relu, 0.f, device);
}
void cuda_training(const Training& a) {
  cuda::batch_norm_forward_training(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(), a.y.data<float>(),
                                    a.save_mean.data<float>(), a.save_invstd.data<float>(),
                                    a.running_mean.data<float>(), a.running_var.data<float>(), a.s.rows, a.s.c,
                                    a.p.eps, a.p.momentum, a.x.device().index);
  if (a.relu) cuda_relu(a.y, a.x.device().index);
}
void cuda_inference(const Inference& a) {
  cuda::batch_norm_forward_inference(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(),
                                     a.running_mean.data<float>(), a.running_var.data<float>(), a.y.data<float>(),
                                     a.s.rows, a.s.c, a.p.eps, a.x.device().index);
  if (a.relu) cuda_relu(a.y, a.x.device().index);
}
void cuda_backward(const Backward& a) {
  const int device = a.x.device().index;
  const Tensor g = detail::relu_upstream(a, [&](Tensor& out) {
    cuda::activation_backward(a.y.data<float>(), a.dy.data<float>(), out.data<float>(), a.dy.numel(),
                              ActivationKind::Relu, 0.f, device);
  });
  cuda::batch_norm_backward(a.x.data<float>(), g.data<float>(), a.gamma.data<float>(), a.save_mean.data<float>(),
                            a.save_invstd.data<float>(), a.dx.data<float>(), a.dgamma.data<float>(),
                            a.dbeta.data<float>(), a.s.rows, a.s.c, device);
}
#endif

// -- cudnn
#if CUSEG_HAS_CUDNN
void cudnn_relu(const Tensor& y, int device) {
  cudnn::activation_forward(y.data<float>(), y.data<float>(), y.numel(), ActivationKind::Relu, device);
}
void cudnn_training(const Training& a) {
  cudnn::batch_norm_forward_training(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(), a.y.data<float>(),
                                     a.save_mean.data<float>(), a.save_invstd.data<float>(),
                                     a.running_mean.data<float>(), a.running_var.data<float>(), a.s.n, a.s.h, a.s.w,
                                     a.s.c, a.p.eps, a.p.momentum, a.x.device().index);
  if (a.relu) cudnn_relu(a.y, a.x.device().index);
}
void cudnn_inference(const Inference& a) {
  cudnn::batch_norm_forward_inference(a.x.data<float>(), a.gamma.data<float>(), a.beta.data<float>(),
                                      a.running_mean.data<float>(), a.running_var.data<float>(), a.y.data<float>(),
                                      a.s.n, a.s.h, a.s.w, a.s.c, a.p.eps, a.x.device().index);
  if (a.relu) cudnn_relu(a.y, a.x.device().index);
}
void cudnn_backward(const Backward& a) {
  const int device = a.x.device().index;
  const Tensor g = detail::relu_upstream(a, [&](Tensor& out) {
    cudnn::activation_backward(a.y.data<float>(), a.dy.data<float>(), out.data<float>(), a.dy.numel(),
                               ActivationKind::Relu, device);
  });
  cudnn::batch_norm_backward(a.x.data<float>(), g.data<float>(), a.gamma.data<float>(), a.save_mean.data<float>(),
                             a.save_invstd.data<float>(), a.dx.data<float>(), a.dgamma.data<float>(),
                             a.dbeta.data<float>(), a.s.n, a.s.h, a.s.w, a.s.c, a.p.eps, device);
}
#endif

#define CUSEG_BN_OP(Args, op, direction)                                                                   \
  detail::define_op<Args>({.name = op,                                                                    \
                           .entry = op,                                                                   \
                           .reference = reference_##direction,                                            \
                           .fast = CUSEG_FAST_IMPL(fast_##direction),                                     \
                           .cuda = CUSEG_CUDA_IMPL(cuda_##direction),                                     \
                           .cudnn = CUSEG_CUDNN_IMPL(cudnn_##direction)})

const auto kTraining = CUSEG_BN_OP(Training, "batch_norm_forward_training", training);
const auto kInference = CUSEG_BN_OP(Inference, "batch_norm_forward_inference", inference);
const auto kBackward = CUSEG_BN_OP(Backward, "batch_norm_backward", backward);
const auto kReluTraining = CUSEG_BN_OP(Training, "batch_norm_relu_forward_training", training);
const auto kReluInference = CUSEG_BN_OP(Inference, "batch_norm_relu_forward_inference", inference);
const auto kReluBackward = CUSEG_BN_OP(Backward, "batch_norm_relu_backward", backward);
#undef CUSEG_BN_OP

void forward_training(const detail::Op<Training>& op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                      Tensor& y, Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                      const BatchNormParams& p, Backend backend, bool relu) {
  const BnShape s = check_bn(op.name, {{"x", x}, {"y", y}},
                             {{"gamma", gamma}, {"beta", beta}, {"save_mean", save_mean}, {"save_invstd", save_invstd},
                              {"running_mean", running_mean}, {"running_var", running_var}},
                             p, true);
  detail::run(op, x, backend, {x, gamma, beta, y, save_mean, save_invstd, running_mean, running_var, s, p, relu});
}

void forward_inference(const detail::Op<Inference>& op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       const Tensor& running_mean, const Tensor& running_var, Tensor& y, const BatchNormParams& p,
                       Backend backend, bool relu) {
  const BnShape s = check_bn(op.name, {{"x", x}, {"y", y}},
                             {{"gamma", gamma}, {"beta", beta}, {"running_mean", running_mean}, {"running_var", running_var}},
                             p, false);
  detail::run(op, x, backend, {x, gamma, beta, running_mean, running_var, y, s, p, relu});
}

void backward(const detail::Op<Backward>& op, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& gamma,
              const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
              const BatchNormParams& p, Backend backend) {
  const std::initializer_list<Arg> vectors = {
      {"gamma", gamma}, {"save_mean", save_mean}, {"save_invstd", save_invstd}, {"dgamma", dgamma}, {"dbeta", dbeta}};
  const BnShape s = y.defined() ? check_bn(op.name, {{"x", x}, {"y", y}, {"dy", dy}, {"dx", dx}}, vectors, p, true)
                                : check_bn(op.name, {{"x", x}, {"dy", dy}, {"dx", dx}}, vectors, p, true);
  detail::run(op, x, backend, {x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, s, p});
}

}  // namespace

void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                                 Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                                 const BatchNormParams& p, Backend backend) {
  forward_training(kTraining, x, gamma, beta, y, save_mean, save_invstd, running_mean, running_var, p, backend, false);
}

void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                  const BatchNormParams& p, Backend backend) {
  forward_inference(kInference, x, gamma, beta, running_mean, running_var, y, p, backend, false);
}

void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                         const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta, const BatchNormParams& p,
                         Backend backend) {
  backward(kBackward, x, Tensor(), dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, p, backend);
}

void batch_norm_relu_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                                      Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean,
                                      Tensor& running_var, const BatchNormParams& p, Backend backend) {
  forward_training(kReluTraining, x, gamma, beta, y, save_mean, save_invstd, running_mean, running_var, p, backend,
                   true);
}

void batch_norm_relu_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                       const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                       const BatchNormParams& p, Backend backend) {
  forward_inference(kReluInference, x, gamma, beta, running_mean, running_var, y, p, backend, true);
}

void batch_norm_relu_backward(const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& gamma,
                              const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                              Tensor& dbeta, const BatchNormParams& p, Backend backend) {
  CUSEG_CHECK(y.defined(), "batch_norm_relu_backward: y (the forward's output) is undefined");
  backward(kReluBackward, x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, p, backend);
}

}  // namespace cuseg
