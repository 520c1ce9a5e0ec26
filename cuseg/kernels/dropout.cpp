#include "cuseg/kernels/dropout.h"

#include <cmath>

#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pointwise.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

void check_dropout(const char* op, const Arg& a, const Arg& b, const Arg& mask, const DropoutParams& p) {
  detail::check_shapes(op, {a, b, mask}, -1);
  detail::check_float_args(op, {a, b});
  detail::check_same_shapes(op, {a, b, mask});
  detail::check_exact(op, mask, a.tensor.device(), DType::U8, a.tensor.shape());
  CUSEG_CHECK(std::isfinite(p.p) && p.p >= 0 && p.p <= 1, op, ": probability ", p.p, " is not in [0, 1]");
}

struct Forward {
  const Tensor& x;
  Tensor& y;
  Tensor& mask;
  const DropoutParams& p;
};
struct Backward {
  const Tensor& dy;
  const Tensor& mask;
  Tensor& dx;
  const DropoutParams& p;
};

const auto kForward = detail::define_op<Forward>({
    .name = "dropout_forward",
    .entry = "dropout_forward",
    .reference =
        [](const Forward& a) {
          detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::dropout_forward<T>(a.x.data<T>(), a.y.data<T>(), a.mask.data<uint8_t>(), a.x.numel(), a.p.p, a.p.seed,
                                    a.p.offset);
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Forward& a) {
      cuda::dropout_forward(a.x.data<float>(), a.y.data<float>(), a.mask.data<uint8_t>(), a.x.numel(), a.p.p,
                            a.p.seed, a.p.offset, a.x.device().index);
    }),
});

const auto kBackward = detail::define_op<Backward>({
    .name = "dropout_backward",
    .entry = "dropout_backward",
    .reference =
        [](const Backward& a) {
          detail::cpu_dispatch(a.dy.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::dropout_backward<T>(a.dy.data<T>(), a.mask.data<uint8_t>(), a.dx.data<T>(), a.dy.numel(), a.p.p);
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Backward& a) {
      cuda::dropout_backward(a.dy.data<float>(), a.mask.data<uint8_t>(), a.dx.data<float>(), a.dy.numel(), a.p.p,
                             a.dy.device().index);
    }),
});

}  // namespace

void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p, Backend backend) {
  check_dropout("dropout_forward", {"x", x}, {"y", y}, {"mask", mask}, p);
  detail::run(kForward, x, backend, {x, y, mask, p});
}

void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p, Backend backend) {
  check_dropout("dropout_backward", {"dy", dy}, {"dx", dx}, {"mask", mask}, p);
  detail::run(kBackward, dy, backend, {dy, mask, dx, p});
}

}  // namespace cuseg
