// Asynchronous copies from global to shared memory (PTX cp.async, sm_80 and later): a thread
// issues copies, closes them into a group with cp_async_commit(), and cp_async_wait<N>() waits
// until at most its N newest groups are still in flight; a __syncthreads() after the wait makes
// the data visible to the block. The pipeline of a GEMM main loop: stage k+1's copies fly while
// stage k is multiplied.
//
// In the emulated build (cuseg/emu/device_api.h) a destination holds garbage until its wait, the
// source is read at the wait, and both addresses are checked for alignment (and the destination
// for being shared memory): a missing or too-late wait reads NaN bytes, as it reads stale data on
// the device.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "cuseg/config.h"

namespace cuseg::cuda {

// 16 bytes from src to dst (both 16-byte aligned: a shared array declared CUSEG_SHARED_ALIGNED(16,
// ...)), or 16 zero bytes where !valid (the padding of a convolution's gather), without reading src.
#if CUSEG_CUDA_EMULATED
inline void cp_async_16(void* dst, const void* src, bool valid = true,
                        std::source_location where = std::source_location::current()) {
  emu::cp_async(dst, src, 16, valid ? 16 : 0, where);
}
inline void cp_async_commit() { emu::cp_async_commit(); }
template <int N>
void cp_async_wait(std::source_location where = std::source_location::current()) {
  emu::cp_async_wait(N, where);
}
#else
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid = true) {
  const auto shared = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared), "l"(src), "r"(valid ? 16 : 0)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  // "memory": the shared loads after the wait must not be moved above it.
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
#endif

}  // namespace cuseg::cuda
