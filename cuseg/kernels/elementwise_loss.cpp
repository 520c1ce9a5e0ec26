#include "cuseg/kernels/elementwise_loss.h"

#include <cmath>

#include "cuseg/kernels/cpu/elementwise_loss.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/elementwise_loss.h"
#endif

namespace cuseg {

namespace {

void check_loss(const char* op, const Tensor& x, const Tensor& target, const Tensor& pos_weight,
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
}

struct Loss {
  const Tensor& x;
  const Tensor& target;
  const Tensor& pos_weight;  // may be undefined
  Tensor& out;               // forward: the loss [1]; backward: dx
  double loss_grad;          // backward
  const ElementwiseLossParams& p;
};

template <class T>
const T* weight_of(const Tensor& pos_weight) {
  return pos_weight.defined() ? pos_weight.data<T>() : nullptr;
}
int channels_of(const Tensor& x) { return int(x.dim(x.rank() - 1)); }

void reference_forward(const Loss& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::elementwise_loss_forward<T>(a.x.data<T>(), a.target.data<T>(), weight_of<T>(a.pos_weight), a.out.data<T>(),
                                     a.x.numel(), channels_of(a.x), a.p);
  });
}
void reference_backward(const Loss& a) {
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::elementwise_loss_backward<T>(a.x.data<T>(), a.target.data<T>(), weight_of<T>(a.pos_weight), a.out.data<T>(),
                                      a.x.numel(), channels_of(a.x), a.loss_grad, a.p);
  });
}
#if CUSEG_HAS_CUDA
void cuda_forward(const Loss& a) {
  cuda::elementwise_loss_forward(a.x.data<float>(), a.target.data<float>(), weight_of<float>(a.pos_weight),
                                 a.out.data<float>(), a.x.numel(), channels_of(a.x), a.p, a.x.device().index);
}
void cuda_backward(const Loss& a) {
  cuda::elementwise_loss_backward(a.x.data<float>(), a.target.data<float>(), weight_of<float>(a.pos_weight),
                                  a.out.data<float>(), a.x.numel(), channels_of(a.x), a.loss_grad, a.p,
                                  a.x.device().index);
}
#endif

detail::Op<Loss> loss_op(const char* name, const char* entry, void (*reference)(const Loss&),
                         void (*cuda)(const Loss&)) {
  return detail::define_op<Loss>({.name = name, .entry = entry, .reference = reference, .cuda = cuda});
}

// By ElementwiseLossKind (Bce, Mse, SmoothL1).
const detail::Op<Loss> kForward[] = {
    loss_op("bce_loss_forward", "elementwise_loss_forward", reference_forward, CUSEG_CUDA_IMPL(cuda_forward)),
    loss_op("mse_loss_forward", "elementwise_loss_forward", reference_forward, CUSEG_CUDA_IMPL(cuda_forward)),
    loss_op("smooth_l1_loss_forward", "elementwise_loss_forward", reference_forward, CUSEG_CUDA_IMPL(cuda_forward)),
};
const detail::Op<Loss> kBackward[] = {
    loss_op("bce_loss_backward", "elementwise_loss_backward", reference_backward, CUSEG_CUDA_IMPL(cuda_backward)),
    loss_op("mse_loss_backward", "elementwise_loss_backward", reference_backward, CUSEG_CUDA_IMPL(cuda_backward)),
    loss_op("smooth_l1_loss_backward", "elementwise_loss_backward", reference_backward,
            CUSEG_CUDA_IMPL(cuda_backward)),
};

}  // namespace

void elementwise_loss_forward(const Tensor& x, const Tensor& target, const Tensor& pos_weight, Tensor& loss,
                              const ElementwiseLossParams& p, Backend backend) {
  const char* op = "elementwise_loss_forward";
  check_loss(op, x, target, pos_weight, {"loss", loss}, p);
  detail::check_exact(op, {"loss", loss}, x.device(), x.dtype(), Shape{1});
  detail::run(kForward[int(p.kind)], x, backend, {x, target, pos_weight, loss, 0.0, p});
}

void elementwise_loss_backward(const Tensor& x, const Tensor& target, const Tensor& pos_weight, Tensor& dx,
                               double loss_grad, const ElementwiseLossParams& p, Backend backend) {
  const char* op = "elementwise_loss_backward";
  check_loss(op, x, target, pos_weight, {"dx", dx}, p);
  detail::check_same_shapes(op, {{"x", x}, {"dx", dx}});
  detail::run(kBackward[int(p.kind)], x, backend, {x, target, pos_weight, dx, loss_grad, p});
}

}  // namespace cuseg
