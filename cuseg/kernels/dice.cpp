#include "cuseg/kernels/dice.h"

#include <cmath>

#include "cuseg/kernels/cpu/dice.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/dice.h"
#endif

namespace cuseg {

using detail::Impl;

namespace {

RowGeometry check_dice(const char* op, const Tensor& logits, const Tensor& labels, const Tensor& stats,
                       const DiceParams& p) {
  const RowGeometry g = detail::check_labels(op, logits, labels);
  detail::check_exact(op, {"stats", stats}, logits.device(), logits.dtype(), Shape{2, g.channels});
  CUSEG_CHECK(std::isfinite(p.smooth) && p.smooth >= 0, op, ": smoothing ", p.smooth, " must be ≥ 0");
  return g;
}

}  // namespace

void dice_forward(const Tensor& logits, const Tensor& labels, Tensor& loss, Tensor& stats, const DiceParams& p) {
  const char* op = "dice_forward";
  const RowGeometry g = check_dice(op, logits, labels, stats, p);
  detail::check_exact(op, {"loss", loss}, logits.device(), logits.dtype(), Shape{1});
  int64_t invalid = 0;
  if (detail::choose_impl(op, logits.device(), logits.dtype(), Backend::Auto) == Impl::Reference) {
    detail::cpu_dispatch(logits.dtype(), [&](auto tag) {
      using T = decltype(tag);
      detail::label_dispatch(labels.dtype(), [&](auto label_tag) {
        using L = decltype(label_tag);
        invalid = cpu::dice_forward<T, L>(logits.data<T>(), labels.data<L>(), loss.data<T>(), stats.data<T>(), g,
                                          p.smooth, p.ignore_index);
      });
    });
  } else {
    CUSEG_IF_CUDA(invalid = cuda::dice_forward(logits.data<float>(), labels.raw_data(), labels.dtype() == DType::U8,
                                               loss.data<float>(), stats.data<float>(), g, p.smooth, p.ignore_index,
                                               logits.device().index));
  }
  CUSEG_CHECK(invalid == 0, op, ": ", invalid, " label(s) outside [0, ", g.channels, ") that are not the ignore label ",
              p.ignore_index, " (", detail::describe({{"logits", logits}, {"labels", labels}}), ")");
}

void dice_backward(const Tensor& logits, const Tensor& labels, const Tensor& stats, Tensor& dlogits,
                   double loss_grad, const DiceParams& p) {
  const char* op = "dice_backward";
  const RowGeometry g = check_dice(op, logits, labels, stats, p);
  detail::check_exact(op, {"dlogits", dlogits}, logits.device(), logits.dtype(), logits.shape());
  if (detail::choose_impl(op, logits.device(), logits.dtype(), Backend::Auto) == Impl::Reference) {
    detail::cpu_dispatch(logits.dtype(), [&](auto tag) {
      using T = decltype(tag);
      detail::label_dispatch(labels.dtype(), [&](auto label_tag) {
        using L = decltype(label_tag);
        cpu::dice_backward<T, L>(logits.data<T>(), labels.data<L>(), stats.data<T>(), dlogits.data<T>(), loss_grad,
                                 g, p.smooth, p.ignore_index);
      });
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::dice_backward(logits.data<float>(), labels.raw_data(), labels.dtype() == DType::U8,
                                    stats.data<float>(), dlogits.data<float>(), loss_grad, g, p.smooth,
                                    p.ignore_index, logits.device().index));
}

}  // namespace cuseg
