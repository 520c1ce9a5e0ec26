#include "cuseg/kernels/upsample.h"

#include "cuseg/kernels/cpu/upsample.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/upsample.h"
#endif

namespace cuseg {

namespace {

struct Resize {  // forward x → y, or backward dy → dx
  const Tensor& in;
  Tensor& out;
  const ResizeGeometry& g;
};

// One op per mode and direction; `kind` and `backward` select the loops.
template <Interp kind, bool backward>
detail::Op<Resize> resize_op(const char* name) {
  return detail::define_op<Resize>({
      .name = name,
      .entry = backward ? "upsample_backward" : "upsample_forward",
      .reference =
          [](const Resize& a) {
            detail::cpu_dispatch(a.in.dtype(), [&](auto tag) {
              using T = decltype(tag);
              (backward ? cpu::upsample_backward<T> : cpu::upsample_forward<T>)(a.in.data<T>(), a.out.data<T>(), a.g,
                                                                                kind);
            });
          },
      .cuda = CUSEG_CUDA_IMPL([](const Resize& a) {
        (backward ? cuda::upsample_backward : cuda::upsample_forward)(a.in.data<float>(), a.out.data<float>(), a.g,
                                                                      kind, a.in.device().index);
      }),
  });
}

// By UpsampleMode (Nearest, Bilinear, BilinearAlignCorners), which Interp mirrors.
static_assert(int(UpsampleMode::Nearest) == int(Interp::Nearest) && int(UpsampleMode::Bilinear) == int(Interp::Bilinear) &&
              int(UpsampleMode::BilinearAlignCorners) == int(Interp::BilinearAlignCorners));
const detail::Op<Resize> kForward[] = {resize_op<Interp::Nearest, false>("upsample_nearest_forward"),
                                       resize_op<Interp::Bilinear, false>("upsample_bilinear_forward"),
                                       resize_op<Interp::BilinearAlignCorners, false>("upsample_bilinear_align_corners_forward")};
const detail::Op<Resize> kBackward[] = {resize_op<Interp::Nearest, true>("upsample_nearest_backward"),
                                        resize_op<Interp::Bilinear, true>("upsample_bilinear_backward"),
                                        resize_op<Interp::BilinearAlignCorners, true>("upsample_bilinear_align_corners_backward")};

}  // namespace

void upsample_forward(const Tensor& x, Tensor& y, UpsampleMode mode, Backend backend) {
  const ResizeGeometry g = detail::check_resize("upsample_forward", {"x", x}, {"y", y});
  detail::run(kForward[int(mode)], x, backend, {x, y, g});
}

void upsample_backward(const Tensor& dy, Tensor& dx, UpsampleMode mode, Backend backend) {
  const ResizeGeometry g = detail::check_resize("upsample_backward", {"dx", dx}, {"dy", dy});
  detail::run(kBackward[int(mode)], dy, backend, {dy, dx, g});
}

}  // namespace cuseg
