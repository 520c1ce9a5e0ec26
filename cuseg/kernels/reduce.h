// Whole-tensor reductions into a [1] tensor on the same device (no host round trip, so they can
// sit inside a training step): Σx, mean, and the L2 norm √Σx². Accumulated in double on the CPU
// and on the GPU, in a fixed order on the GPU (the same result on every run).
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

void reduce_sum(const Tensor& x, Tensor& out, Backend backend = Backend::Auto);
void reduce_mean(const Tensor& x, Tensor& out, Backend backend = Backend::Auto);
void reduce_l2_norm(const Tensor& x, Tensor& out, Backend backend = Backend::Auto);

}  // namespace cuseg
