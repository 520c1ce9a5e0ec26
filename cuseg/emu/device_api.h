// The device side of the emulated CUDA build: what kernel code sees. A block's threads are host
// threads (cuseg/emu/block_runner.cpp), so
//   - threadIdx/blockIdx/blockDim/gridDim are thread_local, set before each CUDA thread runs;
//   - static shared memory is declared with CUSEG_SHARED (cuseg/kernels/cuda/shared_memory.cuh)
//     and every block gets its own, NaN bytes until written, so blocks may run side by side
//     (`__shared__` itself is a compile error here: a `static` would be one object for all);
//   - __syncthreads() is a barrier over the block that every thread must reach at the same call
//     site (anything else is reported, never a hang); warp collectives are exchanges that every
//     lane named in the mask must reach;
//   - atomics are relaxed std::atomic_refs, so ThreadSanitizer sees them as atomics that order nothing;
//   - intrinsics with a rounding suffix are the exact IEEE operations;
//   - tensor-core mma.sync is a warp collective with the PTX ISA's fragment layouts (mma_sync).
#pragma once

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "cuseg/emu/runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static_assert(false, "declare shared memory with CUSEG_SHARED (cuseg/kernels/cuda/shared_memory.cuh)"); static
#define __constant__ static
#define __launch_bounds__(...)
#define __grid_constant__

// Dynamic shared memory: `CUSEG_DYNAMIC_SHARED(float, tile);` in place of
// `extern __shared__ float tile[];` (that declaration cannot be expressed on the host).
#define CUSEG_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::cuseg::emu::dynamic_shared())
// Static shared memory, `CUSEG_SHARED(float, tile, [16][64]);` for `__shared__ float tile[16][64];`:
// the block's own buffer for this declaration (the address of a static tells declarations apart),
// aligned to the type's alignment and no more, as nvcc promises no more (a float array is at an
// address ≡ 4 mod 16 here): a 128-bit access into it needs CUSEG_SHARED_ALIGNED(16, ...).
#define CUSEG_SHARED_ALIGNED(alignment, type, name, dims) \
  static char cuseg_shared_key_##name;                  \
  auto& name = *static_cast<type(*) dims>(              \
      ::cuseg::emu::static_shared(&cuseg_shared_key_##name, sizeof(type dims), alignment))
#define CUSEG_SHARED(type, name, dims) CUSEG_SHARED_ALIGNED(alignof(type), type, name, dims)

extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;
inline constexpr int warpSize = 32;

namespace cuseg::emu {

void* dynamic_shared();
void* static_shared(const void* key, size_t bytes, size_t alignment);
void sync_block(std::source_location where);
// One round of a warp collective: every lane in `mask` deposits `value`; each gets all 32
// deposits back (lanes outside the mask read as 0). Errors (a lane of the mask absent, lanes
// disagreeing on the mask, the caller not in the mask) abort the kernel with a report.
struct WarpRound {
  uint64_t values[32];
  uint32_t mask;
};
WarpRound warp_round(uint32_t mask, uint64_t value, const char* what, std::source_location where);
// The same with up to kWarpRoundWords 64-bit words a lane (`words` of them): all[lane][i] gets
// lane's word i (0 outside the mask); returns the mask. One round, however many words.
inline constexpr int kWarpRoundWords = 4;
uint32_t warp_exchange(uint32_t mask, const uint64_t* mine, int words, uint64_t (*all)[kWarpRoundWords],
                       const char* what, std::source_location where);
unsigned lane_id();
[[noreturn]] void device_trap(const char* what, std::source_location where);
// A `bytes`-wide access (a vector load or store, an ldmatrix row, a cp.async) must be aligned to
// its width, or the device ends the kernel with cudaErrorMisalignedAddress: so does this.
void check_aligned(const void* p, unsigned bytes, const char* what, std::source_location where);

// Counted accesses (kernels/cuda/counted_access.cuh): in a grid launched while counting was on,
// each is a warp collective of every lane of the warp that has not returned, and the warp's lowest
// lane adds what the hardware would do with the request to the kernel's counters (launch.h's
// access_counts).
bool grid_counts_accesses();
enum class MemorySpace { Shared, Global };
void count_access(MemorySpace space, const void* p, unsigned bytes, std::source_location where);

// cp.async (the asynchronous copy global → shared, kernels/cuda/cp_async.cuh): a copy of `bytes`
// (4, 8 or 16, aligned to that) of which the first `src_bytes` come from src and the rest are
// zeros; the destination holds garbage until a cp_async_wait that covers its group, and the source
// is read then. commit closes the calling thread's group; wait lets at most `newest_pending` of
// its newest groups stay in flight.
void cp_async(void* dst, const void* src, unsigned bytes, unsigned src_bytes, std::source_location where);
void cp_async_commit();
void cp_async_wait(int newest_pending, std::source_location where);

// PTX's warp-wide matrix multiply-accumulate, mma.sync.aligned.{shape}.row.col.f32.{type}.{type}.f32
// (tensor_core.cpp): D = A·B + C for one 16×8 tile, every lane of the warp taking part with the
// fragments the PTX ISA assigns it (a: 4 registers, b: 2, c and d: 4 floats each).
enum class MmaShape {
  M16N8K8_TF32,   // A 16×8 and B 8×8 in tf32: the low 13 mantissa bits of each operand ignored
  M16N8K16_BF16,  // A 16×16 and B 16×8 in bf16, two to a register (the lower column/row low)
};
void mma_sync(MmaShape shape, float* d, const uint32_t* a, const uint32_t* b, const float* c,
              std::source_location where);

template <class T>
uint64_t to_bits(T v) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "warp shuffles move up to 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <class T>
T from_bits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}
// The shuffles' common core: the value of lane src, or the caller's own where src is outside
// the caller's segment of `width` lanes (CUDA's rule for the up/down/xor forms).
template <class T>
T shuffle(uint32_t mask, T v, int src, bool own_if_outside, int width, const char* what, std::source_location where) {
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0) device_trap("shuffle width not a power of 2 ≤ 32", where);
  const WarpRound r = warp_round(mask, to_bits(v), what, where);
  const int lane = int(lane_id());
  const int segment = lane / width * width;
  if (own_if_outside && (src < segment || src >= segment + width)) return v;
  if (!(r.mask >> src & 1u)) device_trap("shuffle reads a lane outside the mask", where);
  return from_bits<T>(r.values[src]);
}

}  // namespace cuseg::emu

inline void __syncthreads(std::source_location where = std::source_location::current()) {
  cuseg::emu::sync_block(where);
}
inline void __syncwarp(uint32_t mask = 0xffffffffu, std::source_location where = std::source_location::current()) {
  cuseg::emu::warp_round(mask, 0, "__syncwarp", where);
}

template <class T>
T __shfl_sync(uint32_t mask, T v, int src_lane, int width = 32,
              std::source_location where = std::source_location::current()) {
  const int lane = int(cuseg::emu::lane_id());
  return cuseg::emu::shuffle(mask, v, lane / width * width + src_lane % width, false, width, "__shfl_sync", where);
}
template <class T>
T __shfl_xor_sync(uint32_t mask, T v, int lane_mask, int width = 32,
                  std::source_location where = std::source_location::current()) {
  const int lane = int(cuseg::emu::lane_id());
  return cuseg::emu::shuffle(mask, v, lane ^ lane_mask, true, width, "__shfl_xor_sync", where);
}
template <class T>
T __shfl_down_sync(uint32_t mask, T v, unsigned delta, int width = 32,
                   std::source_location where = std::source_location::current()) {
  const int lane = int(cuseg::emu::lane_id());
  return cuseg::emu::shuffle(mask, v, lane + int(delta), true, width, "__shfl_down_sync", where);
}
template <class T>
T __shfl_up_sync(uint32_t mask, T v, unsigned delta, int width = 32,
                 std::source_location where = std::source_location::current()) {
  const int lane = int(cuseg::emu::lane_id());
  return cuseg::emu::shuffle(mask, v, lane - int(delta), true, width, "__shfl_up_sync", where);
}
inline unsigned __ballot_sync(uint32_t mask, int predicate,
                              std::source_location where = std::source_location::current()) {
  const auto r = cuseg::emu::warp_round(mask, predicate != 0, "__ballot_sync", where);
  unsigned ballot = 0;
  for (int lane = 0; lane < 32; ++lane)
    if ((r.mask >> lane & 1u) && r.values[lane]) ballot |= 1u << lane;
  return ballot;
}
inline int __any_sync(uint32_t mask, int predicate, std::source_location where = std::source_location::current()) {
  return __ballot_sync(mask, predicate, where) != 0;
}
inline int __all_sync(uint32_t mask, int predicate, std::source_location where = std::source_location::current()) {
  const auto r = cuseg::emu::warp_round(mask, predicate != 0, "__all_sync", where);
  for (int lane = 0; lane < 32; ++lane)
    if ((r.mask >> lane & 1u) && !r.values[lane]) return 0;
  return 1;
}

// Atomics on global and shared memory. Floating-point adds are compare-exchange loops inside
// std::atomic_ref, as on the device: the order of adds is the order threads get there. Relaxed,
// as CUDA's atomics are: they order nothing else, so under TSan a block that reads what another
// wrote, trusting an atomic counter without __threadfence, is a reported race (TSan does not model
// fences either, so cuseg's kernels use no such handshake).
template <class T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value, std::memory_order_relaxed);
}
template <class T>
T atomicSub(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_sub(value, std::memory_order_relaxed);
}
template <class T>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value, std::memory_order_relaxed);
}
template <class T>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value, std::memory_order_relaxed);
  return compare;
}
template <class T>
T atomicMax(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load(std::memory_order_relaxed);
  while (old < value && !a.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}
template <class T>
T atomicMin(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load(std::memory_order_relaxed);
  while (value < old && !a.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
[[noreturn]] inline void __trap(std::source_location where = std::source_location::current()) {
  cuseg::emu::device_trap("__trap()", where);
}

// CUDA's global min/max overloads for device code.
#define CUSEG_EMU_MINMAX(T)                              \
  inline T min(T a, T b) { return b < a ? b : a; }       \
  inline T max(T a, T b) { return a < b ? b : a; }
CUSEG_EMU_MINMAX(int)
CUSEG_EMU_MINMAX(unsigned)
CUSEG_EMU_MINMAX(long)
CUSEG_EMU_MINMAX(unsigned long)
CUSEG_EMU_MINMAX(long long)
CUSEG_EMU_MINMAX(unsigned long long)
#undef CUSEG_EMU_MINMAX
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }

// Loads and intrinsics. The emulated build compiles with -ffp-contract=off, so these are the
// exact IEEE operations they name; the fused forms are std::fma.
template <class T>
T __ldg(const T* p) {
  return *p;
}
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
// The device's fast approximations are less accurate than these exact functions: a tolerance
// that passes here must be justified for the device too.
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x != x ? 0.0f : std::fmin(std::fmax(x, 0.0f), 1.0f); }
inline int __popc(unsigned v) { return std::popcount(v); }
inline int __popcll(unsigned long long v) { return std::popcount(v); }
inline int __clz(unsigned v) { return std::countl_zero(v); }
inline int __ffs(unsigned v) { return v ? std::countr_zero(v) + 1 : 0; }
inline float __int_as_float(int v) { return std::bit_cast<float>(v); }
inline int __float_as_int(float v) { return std::bit_cast<int>(v); }
inline unsigned __float_as_uint(float v) { return std::bit_cast<unsigned>(v); }
inline float __uint_as_float(unsigned v) { return std::bit_cast<float>(v); }
inline double __longlong_as_double(long long v) { return std::bit_cast<double>(v); }
inline long long __double_as_longlong(double v) { return std::bit_cast<long long>(v); }
