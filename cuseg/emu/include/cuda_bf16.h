// The emulated build's <cuda_bf16.h>: bf16 as its bits, rounded as the device rounds (to nearest
// even, NaN kept a quiet NaN), through cuseg's own host conversion.
#pragma once

#include <cstdint>

#include "cuseg/core/bf16.h"

struct __nv_bfloat16 {
  uint16_t bits;
};

inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16{cuseg::float_to_bf16(f).bits}; }
inline float __bfloat162float(__nv_bfloat16 b) { return cuseg::bf16_to_float(cuseg::bf16{b.bits}); }
