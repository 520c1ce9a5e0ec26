// 128-bit loads and stores of four floats: one instruction where four scalar ones would be, the
// way memory-bound kernels reach the memory's bandwidth. The address must be a multiple of 16
// bytes; on the device a misaligned one ends the kernel (cudaErrorMisalignedAddress), and the
// emulated build checks every one and fails the same way, naming the kernel, thread and line.
#pragma once

#include <cstdint>
#include <cstring>

#include <cuda_runtime.h>

#include "cuseg/config.h"

namespace cuseg::cuda {

// Whether every pointer may be read or written as float4 (host side, before choosing a kernel).
template <class... P>
bool aligned_for_float4(const P*... p) {
  return ((reinterpret_cast<uintptr_t>(p) % 16 == 0) && ...);
}

#if CUSEG_CUDA_EMULATED
inline float4 load_float4(const float* p, std::source_location where = std::source_location::current()) {
  emu::check_aligned(p, 16, "a float4 load", where);
  float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_float4(float* p, float4 v, std::source_location where = std::source_location::current()) {
  emu::check_aligned(p, 16, "a float4 store", where);
  std::memcpy(p, &v, sizeof v);
}
#else
__device__ __forceinline__ float4 load_float4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void store_float4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
#endif

// Component k (0 to 3; a constant once inlined) of v, and f(k) for k = 0..3 as one float4.
__device__ __forceinline__ float lane(const float4& v, int k) { return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w; }
template <class F>
__device__ __forceinline__ float4 make_each(F f) {
  return make_float4(f(0), f(1), f(2), f(3));
}

// f applied to each of the four.
template <class F>
__device__ __forceinline__ float4 each(float4 v, F f) {
  return make_float4(f(v.x), f(v.y), f(v.z), f(v.w));
}
template <class F>
__device__ __forceinline__ float4 each(float4 a, float4 b, F f) {
  return make_float4(f(a.x, b.x), f(a.y, b.y), f(a.z, b.z), f(a.w, b.w));
}

}  // namespace cuseg::cuda
