// The tensor cores, as the kernels call them: one warp's m16n8k8 TF32 or m16n8k16 BF16
// multiply-accumulate (PTX mma.sync, f32 accumulators) and the conversions that make its
// operands. On a GPU these are the PTX instructions; in the emulated build, cuseg/emu's warp
// collective with the PTX ISA's fragment layouts (cuseg/emu/tensor_core.cpp), so a kernel whose
// fragments are arranged wrongly fails its tests there as it would on the device.
//
// Fragments (g = lane / 4, t = lane % 4; A row-major M×K, B K×N, C/D M×N):
//   tf32 m16n8k8   a[i]: A(g + 8·(i&1), t + 4·(i>>1))      b[i]: B(t + 4·i, g)
//   bf16 m16n8k16  a[i]: A(g + 8·(i&1), 2t + 8·(i>>1) + {0,1})  b[i]: B(2t + 8·i + {0,1}, g)
//                  (two bf16 to a register, the first in the low half)
//   both           c[i], d[i]: C(g + 8·(i>>1), 2t + (i&1))
#pragma once

#include <cstdint>

#include <cuda_bf16.h>  // in the emulated build, cuseg/emu/include's

#include "cuseg/config.h"

namespace cuseg::cuda {

// f32 → tf32 as the tensor cores take it: rounded to 10 mantissa bits, ties away from zero
// (cvt.rna.tf32.f32), in the bits of an f32 whose low 13 are zero.
__device__ __forceinline__ uint32_t to_tf32(float x) {
#if CUSEG_CUDA_EMULATED
  uint32_t u = __float_as_uint(x);
  if ((u & 0x7f800000u) != 0x7f800000u) u += 0x1000u;  // finite: round half away (on the magnitude)
  return u & 0xffffe000u;
#else
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#endif
}

// Two f32 → two bf16 in one register, `lo` in the low half, each rounded to nearest even.
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  return uint32_t(__bfloat16_as_ushort(__float2bfloat16_rn(lo))) |
         uint32_t(__bfloat16_as_ushort(__float2bfloat16_rn(hi))) << 16;
}

__device__ __forceinline__ void mma_tf32_m16n8k8(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                                 const float (&c)[4]) {
#if CUSEG_CUDA_EMULATED
  emu::mma_sync(emu::MmaShape::M16N8K8_TF32, d, a, b, c, std::source_location::current());
#else
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
#endif
}

__device__ __forceinline__ void mma_bf16_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                                  const float (&c)[4]) {
#if CUSEG_CUDA_EMULATED
  emu::mma_sync(emu::MmaShape::M16N8K16_BF16, d, a, b, c, std::source_location::current());
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
#endif
}

}  // namespace cuseg::cuda
