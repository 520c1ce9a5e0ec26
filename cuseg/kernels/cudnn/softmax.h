// Internal: softmax and log-softmax through cuDNN (CUDNN_SOFTMAX_MODE_CHANNEL over a
// [rows, C, 1, 1] view). Same signatures and semantics as kernels/cuda/softmax.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cudnn {

void softmax_forward(const float* x, float* y, const RowGeometry& g, bool log, int device);
void softmax_backward(const float* y, const float* dy, float* dx, const RowGeometry& g, bool log,
                      int device);

}  // namespace cuseg::cudnn
