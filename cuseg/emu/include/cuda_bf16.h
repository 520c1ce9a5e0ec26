// The emulated build's <cuda_bf16.h>: bf16 as its bits, rounded as the device rounds (to nearest
// even, NaN kept a quiet NaN). Written here, not taken from core/bf16.h: emu sits below core
// (docs/ARCHITECTURE.md), and so the device's conversion and cuseg's host one stay two
// implementations that TensorGpu.UniformDrawsAreBitIdenticalToTheHost compares.
#pragma once

#include <bit>
#include <cstdint>

struct __nv_bfloat16 {
  uint16_t bits;
};

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return __nv_bfloat16{uint16_t((u >> 16) | 0x40)};  // NaN: quiet
  u += 0x7fffu + ((u >> 16) & 1u);
  return __nv_bfloat16{uint16_t(u >> 16)};
}
inline float __bfloat162float(__nv_bfloat16 b) { return std::bit_cast<float>(uint32_t(b.bits) << 16); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.bits; }
