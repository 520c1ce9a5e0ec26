// CPU reference convolution (grouped): plain loops over NHWC / KRSC, OpenMP over the outer loop.
// Instantiated for float and double. Semantics as in kernels/conv2d.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T>
void conv2d_forward(const T* x, const T* w, T* y, const ConvGeometry& g);
template <class T>
void conv2d_backward_data(const T* dy, const T* w, T* dx, const ConvGeometry& g);
template <class T>
void conv2d_backward_filter(const T* x, const T* dy, T* dw, const ConvGeometry& g);
template <class T>
void conv2d_bias_forward(T* y, const T* b, int64_t rows, int channels);
template <class T>
void conv2d_bias_backward(const T* dy, T* db, int64_t rows, int channels);

}  // namespace cuseg::cpu
