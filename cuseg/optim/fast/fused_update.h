// The fast CPU path's optimizer step, f32: every parameter of the step in one parallel pass, in
// chunks of kFlatChunk elements (the reference opens a parallel region per tensor, dozens of
// small ones per step), each chunk's loop compiled for x86-64-v4, v3 and baseline. The same
// arithmetic as the reference, element for element (update_rule.h), up to rounding where the
// vector clones contract a·b + c into an FMA. The gradient norm for clipping sums chunk partials
// in order: the same bits on any number of threads.
#pragma once

#include <vector>

#include "cuseg/optim/optimizer.h"
#include "cuseg/optim/update_rule.h"

namespace cuseg::fast {

void fused_update(OptimizerKind kind, const std::vector<Optimizer::Slot>& slots,
                  const std::vector<StepHyper<float>>& hypers, float scale);
double global_grad_norm(const std::vector<Optimizer::Slot>& slots);

}  // namespace cuseg::fast
