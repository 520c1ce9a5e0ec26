#include "cuseg/kernels/confusion.h"

#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/confusion.h"
#endif

namespace cuseg {

void confusion_update(const Tensor& logits, const Tensor& labels, Tensor& counts, int ignore_index) {
  const char* op = "confusion_update";
  const RowGeometry g = detail::check_labels(op, logits, labels);
  detail::check_exact(op, {"counts", counts}, logits.device(), DType::F64, Shape{g.channels, g.channels});
  int64_t invalid = 0;
  if (detail::choose_impl(op, logits.device(), logits.dtype(), Backend::Auto) == detail::Impl::Reference) {
    double* c = counts.data<double>();
    detail::cpu_dispatch(logits.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = logits.data<T>();
      detail::label_dispatch(labels.dtype(), [&](auto label_tag) {
        using L = decltype(label_tag);
        const L* l = labels.data<L>();
        for (int64_t r = 0; r < g.rows; ++r) {
          const int label = int(l[r]);
          if (label == ignore_index) continue;
          if (label < 0 || label >= g.channels) {
            ++invalid;
            continue;
          }
          const T* row = x + r * g.channels;
          int best = 0;
          for (int k = 1; k < g.channels; ++k)
            if (row[k] > row[best]) best = k;
          c[label * g.channels + best] += 1;
        }
      });
    });
  } else {
    CUSEG_IF_CUDA(invalid = cuda::confusion_update(logits.data<float>(), labels.raw_data(), labels.dtype() == DType::U8,
                                                   counts.data<double>(), g, ignore_index, logits.device().index));
  }
  CUSEG_CHECK(invalid == 0, op, ": ", invalid, " label(s) outside [0, ", g.channels, ") that are not the ignore label ",
              ignore_index, " (", detail::describe({{"logits", logits}, {"labels", labels}}), ")");
}

}  // namespace cuseg
