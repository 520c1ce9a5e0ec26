// Internal: CUDA kernels of the broadcast product (kernels/multiply.h), float32, on the device's
// stream, over the folded plan (kernels/multiply_plan.h).
#pragma once

#include "cuseg/kernels/multiply_plan.h"

namespace cuseg::cuda {

void multiply_forward(const float* x, const float* s, float* y, const MultiplyPlan& plan, int device);
// dx or ds may be null (not wanted). ds: per s element, the sum over its repeats in double
// (column_reduce.cuh: fixed blocks added in order), so the bits never depend on scheduling.
void multiply_backward(const float* x, const float* s, const float* dy, float* dx, float* ds, const MultiplyPlan& plan,
                       int device);

}  // namespace cuseg::cuda
