// CPU reference of the confusion-matrix accumulation (kernels/confusion.h): counts[label][argmax]
// += 1 for every row whose label is not the ignore label; returns how many labels were outside
// [0, K) (and not counted).
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T, class L>
int64_t confusion_update(const T* logits, const L* labels, double* counts, const RowGeometry& g, int ignore_index);

}  // namespace cuseg::cpu
