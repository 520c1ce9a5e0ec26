#include "cuseg/kernels/confusion.h"

#include "cuseg/kernels/cpu/confusion.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/confusion.h"
#endif

namespace cuseg {

namespace {

struct Confusion {
  const Tensor& logits;
  const Tensor& labels;
  Tensor& counts;
  const RowGeometry& g;
  int ignore_index;
  int64_t* invalid;  // labels outside [0, K) that are not the ignore label
};

const auto kConfusion = detail::define_op<Confusion>({
    .name = "confusion_update",
    .entry = "confusion_update",
    .reference =
        [](const Confusion& a) {
          detail::cpu_dispatch(a.logits.dtype(), [&](auto tag) {
            using T = decltype(tag);
            detail::label_dispatch(a.labels.dtype(), [&](auto label_tag) {
              using L = decltype(label_tag);
              *a.invalid = cpu::confusion_update<T, L>(a.logits.data<T>(), a.labels.data<L>(), a.counts.data<double>(),
                                                       a.g, a.ignore_index);
            });
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Confusion& a) {
      *a.invalid = cuda::confusion_update(a.logits.data<float>(), a.labels.raw_data(), a.labels.dtype() == DType::U8,
                                          a.counts.data<double>(), a.g, a.ignore_index, a.logits.device().index);
    }),
});

}  // namespace

void confusion_update(const Tensor& logits, const Tensor& labels, Tensor& counts, int ignore_index, Backend backend) {
  const char* op = "confusion_update";
  const RowGeometry g = detail::check_labels(op, logits, labels);
  detail::check_exact(op, {"counts", counts}, logits.device(), DType::F64, Shape{g.channels, g.channels});
  int64_t invalid = 0;
  detail::run(kConfusion, logits, backend, {logits, labels, counts, g, ignore_index, &invalid});
  // Always read back (an evaluation reads its counts anyway): a deferred counter would stay 0.
  detail::invalid_labels(op, g.channels, ignore_index, logits, labels).check(invalid);
}

}  // namespace cuseg
