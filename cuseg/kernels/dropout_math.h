// Dropout's per-element rule for host and device: the mask bit and the kept-element scale.
#pragma once

#include <cstdint>

#include "cuseg/core/philox.h"

namespace cuseg {

// Element i is kept when its draw is at least p. The cursor carries the last Philox block, so a
// loop over consecutive elements evaluates the generator once per four of them.
CUSEG_HD bool dropout_keeps(PhiloxCursor& stream, uint64_t offset, int64_t i, double p) {
  return stream.uniform01(offset + uint64_t(i)) >= p;
}

CUSEG_HD double dropout_scale(double p) { return p < 1.0 ? 1.0 / (1.0 - p) : 0.0; }

}  // namespace cuseg
