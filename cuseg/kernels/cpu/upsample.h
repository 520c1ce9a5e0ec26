// CPU reference of nearest and bilinear resizing (either corner rule). Semantics as in kernels/upsample.h.
#pragma once

#include "cuseg/kernels/geometry.h"
#include "cuseg/kernels/upsample_math.h"

namespace cuseg::cpu {

template <class T> void upsample_forward(const T* x, T* y, const ResizeGeometry& g, Interp kind);
template <class T> void upsample_backward(const T* dy, T* dx, const ResizeGeometry& g, Interp kind);

}  // namespace cuseg::cpu
