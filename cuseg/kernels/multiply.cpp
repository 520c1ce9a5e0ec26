#include "cuseg/kernels/multiply.h"

#include "cuseg/kernels/cpu/multiply.h"
#include "cuseg/kernels/multiply_plan.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/multiply.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/multiply.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

struct Dims {
  int64_t x[4], s[4];
  Dims(const Tensor& xt, const Tensor& st) {
    for (int i = 0; i < 4; ++i) x[i] = xt.dim(i), s[i] = st.dim(i);
  }
  MultiplyPlan plan() const { return MultiplyPlan::of(x, s); }
};

// dx or ds undefined: not wanted.
struct Forward {
  const Tensor& x;
  const Tensor& s;
  Tensor& y;
};
struct Backward {
  const Tensor& x;
  const Tensor& s;
  const Tensor& dy;
  Tensor& dx;
  Tensor& ds;
};

template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

void reference_forward(const Forward& a) {
  const Dims d(a.x, a.s);
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::multiply_forward<T>(a.x.data<T>(), a.s.data<T>(), a.y.data<T>(), d.x, d.s);
  });
}
void reference_backward(const Backward& a) {
  const Dims d(a.x, a.s);
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::multiply_backward<T>(a.x.data<T>(), a.s.data<T>(), a.dy.data<T>(), data_or_null<T>(a.dx),
                              data_or_null<T>(a.ds), d.x, d.s);
  });
}

#if CUSEG_HAS_ONEDNN
// The plans with two repeated runs (s [1, H, W, 1], …) are no network's: the reference serves them.
void fast_forward(const Forward& a) {
  const MultiplyPlan plan = Dims(a.x, a.s).plan();
  if (!plan.single_repeat()) return reference_forward(a);
  fast::multiply_forward(a.x.data<float>(), a.s.data<float>(), a.y.data<float>(), plan);
}
void fast_backward(const Backward& a) {
  const MultiplyPlan plan = Dims(a.x, a.s).plan();
  if (!plan.single_repeat()) return reference_backward(a);
  fast::multiply_backward(a.x.data<float>(), a.s.data<float>(), a.dy.data<float>(), data_or_null<float>(a.dx),
                          data_or_null<float>(a.ds), plan);
}
#endif

#if CUSEG_HAS_CUDA
void cuda_forward(const Forward& a) {
  cuda::multiply_forward(a.x.data<float>(), a.s.data<float>(), a.y.data<float>(), Dims(a.x, a.s).plan(),
                         a.x.device().index);
}
void cuda_backward(const Backward& a) {
  cuda::multiply_backward(a.x.data<float>(), a.s.data<float>(), a.dy.data<float>(), data_or_null<float>(a.dx),
                          data_or_null<float>(a.ds), Dims(a.x, a.s).plan(), a.x.device().index);
}
#endif

const auto kForward = detail::define_op<Forward>({.name = "multiply_forward",
                                                  .entry = "multiply_forward",
                                                  .reference = reference_forward,
                                                  .fast = CUSEG_FAST_IMPL(fast_forward),
                                                  .cuda = CUSEG_CUDA_IMPL(cuda_forward)});
const auto kBackward = detail::define_op<Backward>({.name = "multiply_backward",
                                                    .entry = "multiply_backward",
                                                    .reference = reference_backward,
                                                    .fast = CUSEG_FAST_IMPL(fast_backward),
                                                    .cuda = CUSEG_CUDA_IMPL(cuda_backward)});

// Both of rank 4 (checked before), every dimension of s 1 or x's.
void check_broadcast(const char* op, const Shape& x, const Shape& s) {
  for (int i = 0; i < 4; ++i)
    CUSEG_CHECK(s[i] == 1 || s[i] == x[i], op, ": s ", s.str(), " does not broadcast to x ", x.str(), " (dimension ",
                i, " is neither 1 nor ", x[i], ")");
}

}  // namespace

Shape multiply_output_shape(const Shape& x, const Shape& s) {
  CUSEG_CHECK(x.rank() == 4 && s.rank() == 4, "multiply: x ", x.str(), " and s ", s.str(), " must have rank 4");
  check_broadcast("multiply", x, s);
  return x;
}

void multiply_forward(const Tensor& x, const Tensor& s, Tensor& y, Backend backend) {
  const char* op = "multiply_forward";
  detail::check_shapes(op, {{"x", x}, {"s", s}, {"y", y}}, 4);
  detail::check_float_args(op, {{"x", x}, {"s", s}, {"y", y}});
  detail::check_same_shapes(op, {{"x", x}, {"y", y}});
  check_broadcast(op, x.shape(), s.shape());
  detail::run(kForward, x, backend, {x, s, y});
}

void multiply_backward(const Tensor& x, const Tensor& s, const Tensor& dy, Tensor& dx, Tensor& ds, Backend backend) {
  const char* op = "multiply_backward";
  detail::check_shapes(op, {{"x", x}, {"s", s}, {"dy", dy}}, 4);
  detail::check_float_args(op, {{"x", x}, {"s", s}, {"dy", dy}});
  detail::check_same_shapes(op, {{"x", x}, {"dy", dy}});
  check_broadcast(op, x.shape(), s.shape());
  if (dx.defined()) detail::check_exact(op, {"dx", dx}, x.device(), x.dtype(), x.shape());
  if (ds.defined()) detail::check_exact(op, {"ds", ds}, x.device(), x.dtype(), s.shape());
  detail::run(kBackward, x, backend, {x, s, dy, dx, ds});
}

}  // namespace cuseg
