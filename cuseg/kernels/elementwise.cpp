#include "cuseg/kernels/elementwise.h"

#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pointwise.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

void check_elementwise(const char* op, std::initializer_list<Arg> args) {
  detail::check_shapes(op, args, -1);
  detail::check_float_args(op, args);
  detail::check_same_shapes(op, args);
}

// out = a + b; out = α·a (b unused); b += α·a.
struct Elementwise {
  const Tensor& a;
  const Tensor& b;
  const Tensor& out;
  double alpha;
};

const auto kAdd = detail::define_op<Elementwise>({
    .name = "add",
    .entry = "add",
    .reference =
        [](const Elementwise& e) {
          detail::cpu_dispatch(e.a.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::add<T>(e.a.data<T>(), e.b.data<T>(), e.out.data<T>(), e.a.numel());
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Elementwise& e) {
      cuda::add(e.a.data<float>(), e.b.data<float>(), e.out.data<float>(), e.a.numel(), e.a.device().index);
    }),
});

const auto kScale = detail::define_op<Elementwise>({
    .name = "scale",
    .entry = "scale",
    .reference =
        [](const Elementwise& e) {
          detail::cpu_dispatch(e.a.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::scale<T>(e.a.data<T>(), T(e.alpha), e.out.data<T>(), e.a.numel());
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Elementwise& e) {
      cuda::scale(e.a.data<float>(), float(e.alpha), e.out.data<float>(), e.a.numel(), e.a.device().index);
    }),
});

const auto kAxpy = detail::define_op<Elementwise>({
    .name = "axpy",
    .entry = "axpy",
    .reference =
        [](const Elementwise& e) {
          detail::cpu_dispatch(e.a.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::axpy<T>(T(e.alpha), e.a.data<T>(), e.out.data<T>(), e.a.numel());
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Elementwise& e) {
      cuda::axpy(float(e.alpha), e.a.data<float>(), e.out.data<float>(), e.a.numel(), e.a.device().index);
    }),
});

}  // namespace

void add(const Tensor& a, const Tensor& b, Tensor& out, Backend backend) {
  check_elementwise("add", {{"a", a}, {"b", b}, {"out", out}});
  detail::run(kAdd, a, backend, {a, b, out, 1.0});
}

void scale(const Tensor& x, double alpha, Tensor& out, Backend backend) {
  check_elementwise("scale", {{"x", x}, {"out", out}});
  detail::run(kScale, x, backend, {x, x, out, alpha});
}

void axpy(double alpha, const Tensor& x, Tensor& y, Backend backend) {
  check_elementwise("axpy", {{"x", x}, {"y", y}});
  detail::run(kAxpy, x, backend, {x, y, y, alpha});
}

}  // namespace cuseg
