// Confusion-matrix accumulation for segmentation: for every pixel whose label is not the ignore
// label, counts[label][prediction] += 1, the prediction being the arg-max over the logits' class
// dimension (ties to the lowest class). counts [K, K] is f64 on the logits' device — integer
// counts stay exact up to 2^53 pixels, far beyond any dataset — and is accumulated (+=), so a
// whole evaluation adds up on the device with one read at the end. A label outside [0, K) that is
// not the ignore label is an error (on the GPU the check waits for the kernel).
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

void confusion_update(const Tensor& logits, const Tensor& labels, Tensor& counts, int ignore_index = 255,
                      Backend backend = Backend::Auto);

}  // namespace cuseg
