// Dropout's per-element rule for host and device: the mask bit and the kept-element scale.
#pragma once

#include <cstdint>

#include "cuseg/core/philox.h"
#include "cuseg/kernels/geometry.h"

namespace cuseg {

// Element i is kept when its draw is at least p. The cursor carries the last Philox block, so a
// loop over consecutive elements evaluates the generator once per four of them.
CUSEG_HD bool dropout_keeps(PhiloxCursor& stream, uint64_t offset, int64_t i, double p) {
  return stream.uniform01(offset + uint64_t(i)) >= p;
}

CUSEG_HD double dropout_scale(double p) { return p < 1.0 ? 1.0 / (1.0 - p) : 0.0; }

// Channel dropout and drop path: one mask value per (n, g) of x[N,H,W,C] (GroupGeometry with
// G = C or G = 1), mask[n·G + g] drawn as element n·G + g of plain dropout. This is the mask
// entry of flat element i.
CUSEG_HD int64_t group_mask_index(const GroupGeometry& g, int64_t i) {
  const int64_t n = i / (g.HW * g.C);
  return n * g.G + (i % g.C) / g.group_channels();
}

}  // namespace cuseg
