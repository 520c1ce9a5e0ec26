// Internal: the fast CPU path of the broadcast product (kernels/multiply.h), f32, for the plans
// with a single repeated run — x [A, B, C'] with s [A, C'] (MultiplyPlan::single_repeat), which
// every case of the networks is: vectorized inner loops over contiguous runs, split across
// threads. Other plans run the reference. ds sums in double in an order fixed by the shapes alone
// (blocks of B added in block order; short rows in four lanes), so its bits do not depend on the
// thread count.
#pragma once

#include "cuseg/kernels/multiply_plan.h"

namespace cuseg::fast {

void multiply_forward(const float* x, const float* s, float* y, const MultiplyPlan& plan);
// dx or ds may be null (not wanted).
void multiply_backward(const float* x, const float* s, const float* dy, float* dx, float* ds, const MultiplyPlan& plan);

}  // namespace cuseg::fast
