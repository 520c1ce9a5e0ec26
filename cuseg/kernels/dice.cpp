#include "cuseg/kernels/dice.h"

#include <cmath>

#include "cuseg/kernels/cpu/dice.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/dice.h"
#endif

namespace cuseg {

namespace {

RowGeometry check_dice(const char* op, const Tensor& logits, const Tensor& labels, const Tensor& stats,
                       const DiceParams& p) {
  const RowGeometry g = detail::check_labels(op, logits, labels);
  detail::check_exact(op, {"stats", stats}, logits.device(), logits.dtype(), Shape{2, g.channels});
  CUSEG_CHECK(std::isfinite(p.smooth) && p.smooth >= 0, op, ": smoothing ", p.smooth, " must be ≥ 0");
  return g;
}

struct Forward {
  const Tensor& logits;
  const Tensor& labels;
  Tensor& loss;
  Tensor& stats;
  const RowGeometry& g;
  const DiceParams& p;
  int64_t* invalid;  // labels outside [0, K) that are not the ignore label
  double* deferred;  // the CUDA op adds the count here instead (detail::InvalidLabels)
};
struct Backward {
  const Tensor& logits;
  const Tensor& labels;
  const Tensor& stats;
  Tensor& dlogits;
  double loss_grad;
  const RowGeometry& g;
  const DiceParams& p;
};

const auto kForward = detail::define_op<Forward>({
    .name = "dice_forward",
    .entry = "dice_forward",
    .reference =
        [](const Forward& a) {
          detail::cpu_dispatch(a.logits.dtype(), [&](auto tag) {
            using T = decltype(tag);
            detail::label_dispatch(a.labels.dtype(), [&](auto label_tag) {
              using L = decltype(label_tag);
              *a.invalid = cpu::dice_forward<T, L>(a.logits.data<T>(), a.labels.data<L>(), a.loss.data<T>(),
                                                   a.stats.data<T>(), a.g, a.p.smooth, a.p.ignore_index);
            });
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Forward& a) {
      *a.invalid = cuda::dice_forward(a.logits.data<float>(), a.labels.raw_data(), a.labels.dtype() == DType::U8,
                                      a.loss.data<float>(), a.stats.data<float>(), a.g, a.p.smooth, a.p.ignore_index,
                                      a.logits.device().index, a.deferred);
    }),
});

const auto kBackward = detail::define_op<Backward>({
    .name = "dice_backward",
    .entry = "dice_backward",
    .reference =
        [](const Backward& a) {
          detail::cpu_dispatch(a.logits.dtype(), [&](auto tag) {
            using T = decltype(tag);
            detail::label_dispatch(a.labels.dtype(), [&](auto label_tag) {
              using L = decltype(label_tag);
              cpu::dice_backward<T, L>(a.logits.data<T>(), a.labels.data<L>(), a.stats.data<T>(), a.dlogits.data<T>(),
                                       a.loss_grad, a.g, a.p.smooth, a.p.ignore_index);
            });
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Backward& a) {
      cuda::dice_backward(a.logits.data<float>(), a.labels.raw_data(), a.labels.dtype() == DType::U8,
                          a.stats.data<float>(), a.dlogits.data<float>(), a.loss_grad, a.g, a.p.smooth,
                          a.p.ignore_index, a.logits.device().index);
    }),
});

}  // namespace

void dice_forward(const Tensor& logits, const Tensor& labels, Tensor& loss, Tensor& stats, const DiceParams& p,
                  Backend backend) {
  const char* op = "dice_forward";
  const RowGeometry g = check_dice(op, logits, labels, stats, p);
  detail::check_exact(op, {"loss", loss}, logits.device(), logits.dtype(), Shape{1});
  const detail::InvalidLabels labels_check = detail::invalid_labels(op, g.channels, p.ignore_index, logits, labels);
  int64_t invalid = 0;
  detail::run(kForward, logits, backend, {logits, labels, loss, stats, g, p, &invalid, labels_check.deferred});
  labels_check.check(invalid);
}

void dice_backward(const Tensor& logits, const Tensor& labels, const Tensor& stats, Tensor& dlogits,
                   double loss_grad, const DiceParams& p, Backend backend) {
  const char* op = "dice_backward";
  const RowGeometry g = check_dice(op, logits, labels, stats, p);
  detail::check_exact(op, {"dlogits", dlogits}, logits.device(), logits.dtype(), logits.shape());
  detail::run(kBackward, logits, backend, {logits, labels, stats, dlogits, loss_grad, g, p});
}

}  // namespace cuseg
