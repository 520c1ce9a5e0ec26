// Kernels with known SASS, for scripts/sass_check.py --self-test: the check must see a spill, a
// local array, tensor-core instructions and their absence, a kernel over its register budget and
// one without an instruction it must have, or it cannot be trusted on cuseg's own kernels; and
// cuseg's wrappers must compile to their instructions: mma to HMMA, cp.async to LDGSTS, float4
// accesses to 128-bit loads and stores. Compiled to an sm_90 cubin by the self-test only.
#include <cstdint>

#include "cuseg/kernels/cuda/cp_async.cuh"
#include "cuseg/kernels/cuda/mma.cuh"
#include "cuseg/kernels/cuda/shared_memory.cuh"
#include "cuseg/kernels/cuda/vector_access.cuh"

// 64 accumulators live across a loop, under a budget of 32 registers a thread (1024 threads,
// 2 blocks per SM): ptxas must spill them to local memory.
__global__ void __launch_bounds__(1024, 2) fixture_spills(const float* x, float* y, int n) {
  float acc[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc[i] = x[i * blockDim.x + threadIdx.x];
  for (int k = 0; k < n; ++k) {
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[i] = acc[i] * acc[(i + 7) & 63] + x[k];
  }
  float s = 0;
#pragma unroll
  for (int i = 0; i < 64; ++i) s += acc[i];
  y[threadIdx.x] = s;
}

// An array written and read at runtime indices lives in local memory: a stack frame, no spill.
__global__ void fixture_local_array(const int* idx, float* y) {
  float a[128];
#pragma unroll
  for (int i = 0; i < 128; ++i) a[i] = y[i];
  a[idx[threadIdx.x] & 127] += 1.0f;
  y[threadIdx.x] = a[idx[threadIdx.x + 128] & 127];
}

// One tensor-core product per warp through cuseg's own wrappers (kernels/cuda/mma.cuh): HMMA.
__global__ void fixture_mma_tf32(const float* x, float* y) {
  const int lane = threadIdx.x & 31;
  uint32_t a[4], b[2];
  float c[4] = {0, 0, 0, 0}, d[4];
  for (int i = 0; i < 4; ++i) a[i] = cuseg::cuda::to_tf32(x[lane * 4 + i]);
  for (int i = 0; i < 2; ++i) b[i] = cuseg::cuda::to_tf32(x[128 + lane * 2 + i]);
  cuseg::cuda::mma_tf32_m16n8k8(d, a, b, c);
  for (int i = 0; i < 4; ++i) y[lane * 4 + i] = d[i];
}

__global__ void fixture_mma_bf16(const float* x, float* y) {
  const int lane = threadIdx.x & 31;
  uint32_t a[4], b[2];
  float c[4] = {0, 0, 0, 0}, d[4];
  for (int i = 0; i < 4; ++i) a[i] = cuseg::cuda::pack_bf16x2(x[lane * 8 + 2 * i], x[lane * 8 + 2 * i + 1]);
  for (int i = 0; i < 2; ++i) b[i] = cuseg::cuda::pack_bf16x2(x[256 + lane * 4 + 2 * i], x[256 + lane * 4 + 2 * i + 1]);
  cuseg::cuda::mma_bf16_m16n8k16(d, a, b, c);
  for (int i = 0; i < 4; ++i) y[lane * 4 + i] = d[i];
}

// Two stages through shared memory by cuseg's cp.async wrappers (kernels/cuda/cp_async.cuh).
__global__ void fixture_cp_async(const float* x, float* y) {
  CUSEG_SHARED_ALIGNED(16, float, stage, [2][128]);
  const int t = threadIdx.x;  // 32 threads, 4 floats each a stage
  cuseg::cuda::cp_async_16(&stage[0][4 * t], x + 4 * t);
  cuseg::cuda::cp_async_commit();
  cuseg::cuda::cp_async_16(&stage[1][4 * t], x + 128 + 4 * t, t < 16);
  cuseg::cuda::cp_async_commit();
  cuseg::cuda::cp_async_wait<1>();
  __syncthreads();
  y[t] = stage[0][(4 * t + 4) % 128];
  cuseg::cuda::cp_async_wait<0>();
  __syncthreads();
  y[32 + t] = stage[1][(4 * t + 4) % 128];
}

// 128-bit accesses by cuseg's accessors (kernels/cuda/vector_access.cuh).
__global__ void fixture_float4(const float* x, float* y) {
  using namespace cuseg::cuda;
  store_float4(y + 4 * threadIdx.x, each(load_float4(x + 4 * threadIdx.x), [](float v) { return v * 2.0f; }));
}

// Plain FMAs: no tensor cores, no local memory, few registers.
__global__ void fixture_plain(const float* x, float* y) {
  y[threadIdx.x] = x[threadIdx.x] * 2.0f + 1.0f;
}
