#include "cuseg/kernels/adaptive_pool2d.h"

#include "cuseg/kernels/cpu/adaptive_pool2d.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/adaptive_pool2d.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/adaptive_pool2d.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

// x is the pooled input, y the output: same N and C, any P × Q.
ResizeGeometry check_adaptive(const char* op, const Arg& x, const Arg& y) {
  detail::check_shapes(op, {x, y}, 4);
  detail::check_float_args(op, {x, y});
  const Shape& xs = x.tensor.shape();
  const Shape& ys = y.tensor.shape();
  CUSEG_CHECK(xs[0] == ys[0] && xs[3] == ys[3], op, ": ", x.name, " and ", y.name,
              " must share batch and channels (", detail::describe({x, y}), ")");
  CUSEG_CHECK(x.tensor.numel() < (int64_t(1) << 31) && y.tensor.numel() < (int64_t(1) << 31), op,
              ": tensors of 2^31 elements or more");
  return {int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[1]), int(ys[2])};
}

struct Adaptive {  // forward x → y, or backward dy → dx
  const Tensor& in;
  Tensor& out;
  const ResizeGeometry& g;
};

const auto kForward = detail::define_op<Adaptive>({
    .name = "adaptive_avg_pool2d_forward",
    .entry = "adaptive_avg_pool2d_forward",
    .reference =
        [](const Adaptive& a) {
          detail::cpu_dispatch(a.in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::adaptive_avg_pool2d_forward<T>(a.in.data<T>(), a.out.data<T>(), a.g);
          });
        },
    .fast = CUSEG_FAST_IMPL([](const Adaptive& a) {
      fast::adaptive_avg_pool2d_forward(a.in.data<float>(), a.out.data<float>(), a.g);
    }),
    .cuda = CUSEG_CUDA_IMPL([](const Adaptive& a) {
      cuda::adaptive_avg_pool2d_forward(a.in.data<float>(), a.out.data<float>(), a.g, a.in.device().index);
    }),
});

const auto kBackward = detail::define_op<Adaptive>({
    .name = "adaptive_avg_pool2d_backward",
    .entry = "adaptive_avg_pool2d_backward",
    .reference =
        [](const Adaptive& a) {
          detail::cpu_dispatch(a.in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::adaptive_avg_pool2d_backward<T>(a.in.data<T>(), a.out.data<T>(), a.g);
          });
        },
    .fast = CUSEG_FAST_IMPL([](const Adaptive& a) {
      fast::adaptive_avg_pool2d_backward(a.in.data<float>(), a.out.data<float>(), a.g);
    }),
    .cuda = CUSEG_CUDA_IMPL([](const Adaptive& a) {
      cuda::adaptive_avg_pool2d_backward(a.in.data<float>(), a.out.data<float>(), a.g, a.in.device().index);
    }),
});

}  // namespace

void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y, Backend backend) {
  const ResizeGeometry g = check_adaptive("adaptive_avg_pool2d_forward", {"x", x}, {"y", y});
  detail::run(kForward, x, backend, {x, y, g});
}

void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx, Backend backend) {
  const ResizeGeometry g = check_adaptive("adaptive_avg_pool2d_backward", {"dx", dx}, {"dy", dy});
  detail::run(kBackward, dy, backend, {dy, dx, g});
}

}  // namespace cuseg
