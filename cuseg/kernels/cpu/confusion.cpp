#include "cuseg/kernels/cpu/confusion.h"

namespace cuseg::cpu {

template <class T, class L>
int64_t confusion_update(const T* logits, const L* labels, double* counts, const RowGeometry& g, int ignore_index) {
  int64_t invalid = 0;
  for (int64_t r = 0; r < g.rows; ++r) {
    const int label = int(labels[r]);
    if (label == ignore_index) continue;
    if (label < 0 || label >= g.channels) {
      ++invalid;
      continue;
    }
    const T* row = logits + r * g.channels;
    int best = 0;  // ties to the lowest class
    for (int k = 1; k < g.channels; ++k)
      if (row[k] > row[best]) best = k;
    counts[label * g.channels + best] += 1;
  }
  return invalid;
}

template int64_t confusion_update<float, uint8_t>(const float*, const uint8_t*, double*, const RowGeometry&, int);
template int64_t confusion_update<float, int32_t>(const float*, const int32_t*, double*, const RowGeometry&, int);
template int64_t confusion_update<double, uint8_t>(const double*, const uint8_t*, double*, const RowGeometry&, int);
template int64_t confusion_update<double, int32_t>(const double*, const int32_t*, double*, const RowGeometry&, int);

}  // namespace cuseg::cpu
