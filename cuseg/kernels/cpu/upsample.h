// CPU reference of nearest and bilinear resizing. Semantics as in kernels/upsample.h.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T> void upsample_forward(const T* x, T* y, const ResizeGeometry& g, bool bilinear);
template <class T> void upsample_backward(const T* dy, T* dx, const ResizeGeometry& g, bool bilinear);

}  // namespace cuseg::cpu
