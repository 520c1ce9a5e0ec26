// Internal: cuseg's CUDA softmax kernels, float32, on the device's stream.
// Semantics as in kernels/softmax.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void softmax_forward(const float* x, float* y, const RowGeometry& g, bool log, int device);
void softmax_backward(const float* y, const float* dy, float* dx, const RowGeometry& g, bool log,
                      int device);

// labels: uint8_t when labels_u8, else int32_t. Returns the number of invalid labels, waiting for
// the kernels to finish to read it; or, with `add_invalid_to` (a device counter,
// core/device_checks.h), adds it there and returns 0 without waiting.
int64_t softmax_cross_entropy_forward(const float* logits, const void* labels, bool labels_u8,
                                      const float* class_weights, float* loss, float* weight_sum,
                                      const RowGeometry& g, int ignore_index, double label_smoothing,
                                      double focal_gamma, int device, double* add_invalid_to = nullptr);
void softmax_cross_entropy_backward(const float* logits, const void* labels, bool labels_u8,
                                    const float* class_weights, const float* weight_sum,
                                    float* dlogits, double loss_grad, const RowGeometry& g,
                                    int ignore_index, double label_smoothing, double focal_gamma, int device);

}  // namespace cuseg::cuda
