// Elementwise arithmetic on tensors of one shape, dtype and device. Outputs are assigned and may
// alias inputs (in place), except axpy, which accumulates into y by definition.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

void add(const Tensor& a, const Tensor& b, Tensor& out, Backend backend = Backend::Auto);  // out = a + b
void scale(const Tensor& x, double alpha, Tensor& out, Backend backend = Backend::Auto);    // out = α·x
void axpy(double alpha, const Tensor& x, Tensor& y, Backend backend = Backend::Auto);       // y += α·x

}  // namespace cuseg
