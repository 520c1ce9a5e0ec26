// Dropout's per-element rule for host and device: the mask bit and the kept-element scale.
#pragma once

#include <cstdint>

#include "cuseg/core/philox.h"

namespace cuseg {

CUSEG_HD bool dropout_keeps(uint64_t seed, uint64_t offset, int64_t i, double p) {
  return philox_uniform01(seed, offset + uint64_t(i)) >= p;
}

CUSEG_HD double dropout_scale(double p) { return p < 1.0 ? 1.0 / (1.0 - p) : 0.0; }

}  // namespace cuseg
