// Internal: the CPU reference of the broadcast product (kernels/multiply.h), float and double:
// the definition written out over the four axes, an s index per element.
#pragma once

#include <cstdint>

namespace cuseg::cpu {

// xd, sd: x's and s's dimensions (NHWC); every sd[i] is 1 or xd[i].
template <class T>
void multiply_forward(const T* x, const T* s, T* y, const int64_t (&xd)[4], const int64_t (&sd)[4]);
// dx or ds may be null (not wanted). ds sums in double, in x's element order.
template <class T>
void multiply_backward(const T* x, const T* s, const T* dy, T* dx, T* ds, const int64_t (&xd)[4],
                       const int64_t (&sd)[4]);

}  // namespace cuseg::cpu
