// CPU reference pooling over NHWC. Semantics as in kernels/pool2d.h.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T>
void max_pool2d_forward(const T* x, T* y, int32_t* argmax, const PoolGeometry& g);
template <class T>
void max_pool2d_backward(const T* dy, const int32_t* argmax, T* dx, const PoolGeometry& g);
template <class T>
void avg_pool2d_forward(const T* x, T* y, const PoolGeometry& g);
template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const PoolGeometry& g);

}  // namespace cuseg::cpu
