// Soft Dice's loss from its per-class sums, for host and device (kernels/dice.h):
//   loss = 1 − (1/K)·Σ_c (2·I_c + s)/(S_c + s)
// One definition for the CPU reference, the CUDA kernel and the data-parallel loss
// (losses/loss.cpp), which sums I and S over the ranks first.
#pragma once

#include "cuseg/core/hd.h"

namespace cuseg {

template <class I, class S>
CUSEG_HD double dice_loss_from_sums(const I* inter, const S* total, int k, double smooth) {
  double dice = 0;
  for (int c = 0; c < k; ++c) dice += (2 * double(inter[c]) + smooth) / (double(total[c]) + smooth);
  return 1 - dice / k;
}

}  // namespace cuseg
