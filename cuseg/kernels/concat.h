// Concatenation along the last (channel) dimension, and its inverse. All tensors share every
// dimension but the last: out[..., c_k : c_k + C_k] = inputs[k], c_k = C_0 + … + C_(k−1).
// split_channels is concat's backward (and the other way round). Outputs are assigned.
#pragma once

#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

void concat_channels(const std::vector<Tensor>& inputs, Tensor& out, Backend backend = Backend::Auto);
void split_channels(const Tensor& in, std::vector<Tensor>& outputs, Backend backend = Backend::Auto);

}  // namespace cuseg
