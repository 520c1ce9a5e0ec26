// The loads and stores of a kernel's hot loop, written through these so that the emulated build
// can count what the hardware would make of them: for shared memory the bank conflicts of each
// warp-wide request, for global memory the 32-byte sectors each request touches (emu::AccessCounts
// in cuseg/emu/launch.h). On a GPU they are plain loads and stores (read-only global loads
// through __ldg), and in the emulated build too unless the grid was launched while counting was on
// (emu::count_accesses), when each is a warp collective: every lane of the warp that has not
// returned must reach it, as in a uniform main loop (a kernel whose lanes may return before the
// loop cannot count it), and a lane with nothing to load passes valid = false to global_load_if.
#pragma once

#include <cuda_runtime.h>

#include "cuseg/config.h"
#include "cuseg/kernels/cuda/conv_problems.h"

namespace cuseg::cuda {

#if CUSEG_CUDA_EMULATED
template <class T>
T shared_load(const T* p, std::source_location where = std::source_location::current()) {
  if (emu::grid_counts_accesses())
    emu::count_access(emu::MemorySpace::Shared, p, sizeof(T), where);
  return *p;
}
template <class T>
void shared_store(T* p, T v, std::source_location where = std::source_location::current()) {
  if (emu::grid_counts_accesses())
    emu::count_access(emu::MemorySpace::Shared, p, sizeof(T), where);
  *p = v;
}
// The element at.p where at.valid, else 0 (a zero of the padding, or outside the matrix).
inline float global_load_if(Gathered at, std::source_location where = std::source_location::current()) {
  if (emu::grid_counts_accesses())
    emu::count_access(emu::MemorySpace::Global, at.valid ? at.p : nullptr, sizeof(float), where);
  return at.valid ? *at.p : 0.f;
}
#else
template <class T>
__device__ __forceinline__ T shared_load(const T* p) {
  return *p;
}
template <class T>
__device__ __forceinline__ void shared_store(T* p, T v) {
  *p = v;
}
__device__ __forceinline__ float global_load_if(Gathered at) { return at.valid ? __ldg(at.p) : 0.f; }
#endif

}  // namespace cuseg::cuda
