// A tiled SIMT GEMM, C[M×N] = A[M×Kd] · B[Kd×N], whose operands are never materialized: a
// Problem says how to fetch A(m, kk) and B(kk, n) from the tensors (the im2col gather of a
// convolution) and where C(m, n) goes. Convolution forward, backward-data and backward-filter
// are three Problems over this one kernel.
//
// Tiles: 64×64 outputs per block of 256 threads, 4×4 per thread, K-steps of 16. The next
// K-step's global loads are issued into registers before the current step's arithmetic, so
// memory latency overlaps the FMAs. Threads load along whichever of m/kk (or kk/n) is contiguous
// in memory, so a warp's loads are coalesced for NHWC activations and KRSC weights.
// Split-K (grid z) gives small-M×N, long-Kd problems (weight gradients) enough blocks; partial
// tiles go to a workspace and a second kernel sums them in a fixed order (deterministic).
// Grouped problems (grouped convolution) are `groups` independent GEMMs of the same sizes, one
// per slice of grid z (z = group · splits + split); the group index goes to every a/b/store.
#pragma once

#include <algorithm>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/cuda/scratch.h"
#include "cuseg/kernels/cuda/implicit_gemm_tc.cuh"
#include "cuseg/kernels/cuda/shared_memory.cuh"

namespace cuseg::cuda {

constexpr int kGemmBM = 64, kGemmBN = 64, kGemmBK = 16, kGemmThreads = 256;

// Problem requirements (sizes per group):
//   int M, N, Kd, groups;
//   static constexpr bool kAContiguousInK, kBContiguousInK;
//   __device__ float a(int grp, int m, int kk) const;  // called only with m < M, kk < Kd
//   __device__ float b(int grp, int kk, int n) const;  // called only with kk < Kd, n < N
//   __device__ void store(int grp, int m, int n, float v) const;  // assigns or accumulates

template <class Problem>
__device__ __forceinline__ void gemm_load_tiles(const Problem& prob, int grp, int m0, int n0, int k0,
                                                int k_end, float (&a_reg)[4], float (&b_reg)[4]) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int l = 0; l < 4; ++l) {
    const int e = tid + l * kGemmThreads;
    int m, kk;
    if constexpr (Problem::kAContiguousInK) {
      kk = e % kGemmBK, m = e / kGemmBK;
    } else {
      m = e % kGemmBM, kk = e / kGemmBM;
    }
    m += m0, kk += k0;
    a_reg[l] = (m < prob.M && kk < k_end) ? prob.a(grp, m, kk) : 0.f;

    int n;
    if constexpr (Problem::kBContiguousInK) {
      kk = e % kGemmBK, n = e / kGemmBK;
    } else {
      n = e % kGemmBN, kk = e / kGemmBN;
    }
    n += n0, kk += k0;
    b_reg[l] = (n < prob.N && kk < k_end) ? prob.b(grp, kk, n) : 0.f;
  }
}

template <class Problem>
__device__ __forceinline__ void gemm_store_tiles(float (*as)[kGemmBM + 4], float (*bs)[kGemmBN + 4],
                                                 const float (&a_reg)[4], const float (&b_reg)[4]) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int l = 0; l < 4; ++l) {
    const int e = tid + l * kGemmThreads;
    if constexpr (Problem::kAContiguousInK) {
      as[e % kGemmBK][e / kGemmBK] = a_reg[l];
    } else {
      as[e / kGemmBM][e % kGemmBM] = a_reg[l];
    }
    if constexpr (Problem::kBContiguousInK) {
      bs[e % kGemmBK][e / kGemmBK] = b_reg[l];
    } else {
      bs[e / kGemmBN][e % kGemmBN] = b_reg[l];
    }
  }
}

// workspace == nullptr: results go straight to prob.store. Otherwise block z (= group · splits +
// split) writes its partial tile to workspace[z][m][n].
template <class Problem>
__global__ void __launch_bounds__(kGemmThreads)
    implicit_gemm_kernel(Problem prob, int splits, int k_per_split, float* workspace) {
  CUSEG_SHARED(float, as, [kGemmBK][kGemmBM + 4]);
  CUSEG_SHARED(float, bs, [kGemmBK][kGemmBN + 4]);

  const int m0 = blockIdx.x * kGemmBM, n0 = blockIdx.y * kGemmBN;  // grid: see run_implicit_gemm
  const int grp = blockIdx.z / splits;
  const int k_begin = (blockIdx.z % splits) * k_per_split;
  const int k_end = min(prob.Kd, k_begin + k_per_split);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;

  float acc[4][4] = {};
  float a_reg[4], b_reg[4];
  gemm_load_tiles(prob, grp, m0, n0, k_begin, k_end, a_reg, b_reg);
  for (int k0 = k_begin; k0 < k_end; k0 += kGemmBK) {
    gemm_store_tiles<Problem>(as, bs, a_reg, b_reg);
    __syncthreads();
    if (k0 + kGemmBK < k_end) gemm_load_tiles(prob, grp, m0, n0, k0 + kGemmBK, k_end, a_reg, b_reg);
#pragma unroll
    for (int kk = 0; kk < kGemmBK; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = as[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + ty + 16 * i;
    if (m >= prob.M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int n = n0 + tx + 16 * j;
      if (n >= prob.N) continue;
      if (workspace) {
        workspace[(int64_t(blockIdx.z) * prob.M + m) * prob.N + n] = acc[i][j];
      } else {
        prob.store(grp, m, n, acc[i][j]);
      }
    }
  }
}

template <class Problem>
__global__ void split_k_reduce_kernel(Problem prob, const float* workspace, int splits) {
  const int64_t mn = int64_t(prob.M) * prob.N;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < mn * prob.groups;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int grp = int(i / mn);
    const int64_t e = i % mn;
    float sum = 0.f;
    for (int z = 0; z < splits; ++z) sum += workspace[(int64_t(grp) * splits + z) * mn + e];
    prob.store(grp, int(e / prob.N), int(e % prob.N), sum);
  }
}

// Runs the problem on `device`'s stream: F32 on the SIMT kernel above, Tf32 and Bf16 on the
// tensor cores (implicit_gemm_tc.cuh). Split-K is used when the M×N tiles alone would leave most
// of the GPU idle and Kd is long enough to share out.
template <class Problem>
void run_implicit_gemm(const Problem& prob, int device, Precision precision = Precision::F32) {
  if (prob.M == 0 || prob.N == 0 || prob.groups == 0) return;
  static_assert(kGemmBM == kTcBM && kGemmBN == kTcBN, "one grid for both kernels");
  const int bk = precision == Precision::F32 ? kGemmBK : kTcBK;
  cudaStream_t s = stream(device);
  // Grid: row tiles on x (up to 2³¹ − 1: M is the long side, N·H·W output pixels of a
  // convolution, and M < 2³¹ holds for every tensor a kernel accepts), column tiles on y and
  // groups × K-splits on z (CUDA allows 65535 for each). N is a channel count or R·S·C, far below
  // 65535·64, but say so should it ever not be.
  const int tiles_m = (prob.M + kGemmBM - 1) / kGemmBM;
  const int tiles_n = (prob.N + kGemmBN - 1) / kGemmBN;
  CUSEG_CHECK(tiles_n <= 65535, "implicit GEMM: N = ", prob.N, " needs ", tiles_n,
              " column tiles of ", kGemmBN, ", more than the grid's y limit of 65535");
  CUSEG_CHECK(prob.groups <= 65535, "implicit GEMM: ", prob.groups, " groups, more than the grid's z limit of 65535");

  int sms = 0;
  CUSEG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t tiles = int64_t(tiles_m) * tiles_n * prob.groups;
  const int64_t wanted_blocks = 4LL * sms;
  int splits = 1;
  if (tiles < wanted_blocks && prob.Kd >= 8 * bk) {
    constexpr int64_t kMaxWorkspaceFloats = 16 << 20;  // 64 MiB
    const int64_t by_occupancy = (wanted_blocks + tiles - 1) / tiles;
    const int64_t by_length = prob.Kd / (4 * bk);
    const int64_t by_memory = kMaxWorkspaceFloats / (int64_t(prob.M) * prob.N * prob.groups);
    const int64_t by_grid = 65535 / prob.groups;
    splits = int(std::max<int64_t>(
        1, std::min(std::min(by_occupancy, by_length), std::min(by_memory, by_grid))));
  }
  // Each split covers a whole number of K-steps.
  const int k_per_split = ((prob.Kd + splits - 1) / splits + bk - 1) / bk * bk;
  splits = (prob.Kd + k_per_split - 1) / k_per_split;

  const dim3 grid{unsigned(tiles_m), unsigned(tiles_n), unsigned(splits * prob.groups)};
  const auto run = [&](float* workspace) {
    switch (precision) {
      case Precision::F32:
        return CUSEG_LAUNCH(implicit_gemm_kernel<Problem>, grid, kGemmThreads, 0, s, prob, splits,
                            k_per_split, workspace);
      case Precision::Tf32:
        return CUSEG_LAUNCH((implicit_gemm_tc_kernel<Problem, Precision::Tf32>), grid, kTcThreads, 0, s,
                            prob, splits, k_per_split, workspace);
      case Precision::Bf16:
        return CUSEG_LAUNCH((implicit_gemm_tc_kernel<Problem, Precision::Bf16>), grid, kTcThreads, 0, s,
                            prob, splits, k_per_split, workspace);
    }
  };
  if (splits == 1) return run(nullptr);
  Scratch scratch(size_t(splits) * prob.groups * prob.M * prob.N * sizeof(float), device);
  float* workspace = scratch.as<float>();
  run(workspace);
  const int64_t mn = int64_t(prob.M) * prob.N * prob.groups;
  CUSEG_LAUNCH(split_k_reduce_kernel<Problem>, std::min<unsigned>(grid_1d(mn, 256), 4096u), 256, 0,
               s, prob, workspace, splits);
}

}  // namespace cuseg::cuda
