// Kernels with known SASS, for scripts/sass_check.py --self-test: the check must see a spill, a
// local array, tensor-core instructions and their absence, and a kernel over its register budget,
// or it cannot be trusted on cuseg's own kernels. Compiled to an sm_90 cubin by the self-test only.
#include <cstdint>

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

// One m16n8k8 TF32 tensor-core product per warp (fragments as the PTX ISA lays them out): HMMA.
__global__ void fixture_mma(const uint32_t* a, const uint32_t* b, float* d) {
  const int lane = threadIdx.x & 31;
  float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c0), "+f"(c1), "+f"(c2), "+f"(c3)
      : "r"(a[lane * 4]), "r"(a[lane * 4 + 1]), "r"(a[lane * 4 + 2]), "r"(a[lane * 4 + 3]),
        "r"(b[lane * 2]), "r"(b[lane * 2 + 1]));
  d[lane * 4] = c0, d[lane * 4 + 1] = c1, d[lane * 4 + 2] = c2, d[lane * 4 + 3] = c3;
}

// Plain FMAs: no tensor cores, no local memory, few registers.
__global__ void fixture_plain(const float* x, float* y) {
  y[threadIdx.x] = x[threadIdx.x] * 2.0f + 1.0f;
}
