// Inverted dropout: each element is kept with probability 1 − p and scaled by 1/(1 − p), so the
// expected output equals the input and evaluation needs no rescaling. Element i is dropped when
// the Philox draw philox_uniform01(seed, offset + i) < p: the mask for a (seed, offset) is the
// same on the CPU and on every GPU, and a training step passes a fresh offset each time.
// forward assigns y and the u8 mask (1 kept, 0 dropped); backward assigns dx = dy·mask/(1 − p).
// p = 1 drops everything (outputs 0).
#pragma once

#include <cstdint>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct DropoutParams {
  double p = 0.5;
  uint64_t seed = 0;
  uint64_t offset = 0;
};

void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p, Backend backend = Backend::Auto);
void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p,
                      Backend backend = Backend::Auto);

}  // namespace cuseg
