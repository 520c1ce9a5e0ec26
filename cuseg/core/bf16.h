// bfloat16 as storage: the top 16 bits of an IEEE float. Conversion rounds to nearest even,
// NaN stays NaN. Plain C++ so that public headers never need cuda_bf16.h.
#pragma once

#include <bit>
#include <cstdint>

namespace cuseg {

struct bf16 {
  uint16_t bits = 0;
};

inline bf16 float_to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)
    return bf16{uint16_t((u >> 16) | 0x40)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{uint16_t(u >> 16)};
}

inline float bf16_to_float(bf16 b) { return std::bit_cast<float>(uint32_t(b.bits) << 16); }

}  // namespace cuseg
