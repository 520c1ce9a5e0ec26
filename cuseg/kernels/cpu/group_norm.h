// CPU reference of group normalization (kernels/group_norm.h): two passes over each (n, g) group
// in double (the mean, then the variance from the deviations), float and double.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T>
void group_norm_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                        T* save_invstd, const GroupGeometry& g, double eps);
template <class T>
void group_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                         const T* save_invstd, T* dx, T* dgamma, T* dbeta, const GroupGeometry& g);

}  // namespace cuseg::cpu
