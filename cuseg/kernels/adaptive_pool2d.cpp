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

namespace {

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
  const ResizeGeometry g = detail::check_resize("adaptive_avg_pool2d_forward", {"x", x}, {"y", y});
  detail::run(kForward, x, backend, {x, y, g});
}

void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx, Backend backend) {
  const ResizeGeometry g = detail::check_resize("adaptive_avg_pool2d_backward", {"dx", dx}, {"dy", dy});
  detail::run(kBackward, dy, backend, {dy, dx, g});
}

}  // namespace cuseg
