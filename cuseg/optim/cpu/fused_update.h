// The CPU driver of the fused optimizer step: every element of every parameter through
// update_element (optim/update_rule.h), OpenMP within each tensor.
#pragma once

#include <vector>

#include "cuseg/optim/optimizer.h"

namespace cuseg::cpu {

template <class T>
void fused_update(OptimizerKind kind, const std::vector<Optimizer::Slot>& slots,
                  const std::vector<StepHyper<T>>& hypers, T scale);

// √Σ g² over every gradient, in double.
double global_grad_norm(const std::vector<Optimizer::Slot>& slots);

}  // namespace cuseg::cpu
