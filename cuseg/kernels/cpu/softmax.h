// CPU reference softmax, log-softmax and softmax cross-entropy over the last dimension.
// Semantics as in kernels/softmax.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T>
void softmax_forward(const T* x, T* y, const RowGeometry& g);
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, const RowGeometry& g);
template <class T>
void log_softmax_forward(const T* x, T* y, const RowGeometry& g);
template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, const RowGeometry& g);

// Label types: uint8_t and int32_t. class_weights may be null. Returns the number of labels that
// are neither in [0, channels) nor the ignore label (0 on success; outputs then undefined).
template <class T, class L>
int64_t softmax_cross_entropy_forward(const T* logits, const L* labels, const T* class_weights,
                                      T* loss, T* weight_sum, const RowGeometry& g,
                                      int ignore_index, double label_smoothing, double focal_gamma);
template <class T, class L>
void softmax_cross_entropy_backward(const T* logits, const L* labels, const T* class_weights,
                                    const T* weight_sum, T* dlogits, double loss_grad,
                                    const RowGeometry& g, int ignore_index, double label_smoothing,
                                    double focal_gamma);

}  // namespace cuseg::cpu
