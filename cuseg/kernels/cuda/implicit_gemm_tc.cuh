// The implicit GEMM of implicit_gemm.cuh on the tensor cores: the same Problems (the three
// convolution directions), operands rounded to tf32 or bf16 as they enter shared memory, products
// accumulated in f32 by mma.sync (mma.cuh). run_implicit_gemm chooses it for Precision::Tf32
// and Precision::Bf16.
//
// Tiles: 64×64 outputs per block of 256 threads (8 warps, 2×4, each 32×16: 2×2 mma tiles of
// 16×8), K-steps of 32 (four m16n8k8 tf32 steps or two m16n8k16 bf16 ones). The next K-step's
// global loads are issued into registers before the current step's mma, as in the SIMT kernel
// (cp.async, which needs no registers for it, is the next step).
// Shared memory holds A as [m][k] and B as [n][k] (k contiguous in both, as the fragments read
// them), each row padded so that every warp-wide access of the main loop falls in 32 different
// banks: the fragment reads (8 rows × 4 columns), and the tile stores, whose thread mapping
// (tc_tile_position) is chosen for it. The emulator counts them (tests/emu/conv_access_test.cpp).
// Not yet: cp.async, ldmatrix, more stages, a choice of tile shape.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cuseg/kernels/backend.h"
#include "cuseg/kernels/cuda/counted_access.cuh"
#include "cuseg/kernels/cuda/mma.cuh"
#include "cuseg/kernels/cuda/shared_memory.cuh"

namespace cuseg::cuda {

constexpr int kTcBM = 64, kTcBN = 64, kTcBK = 32, kTcThreads = 256;
// A thread's share of an operand tile, in registers between K-steps. (With 128 threads and 16
// elements each, the gathers' hoisted addresses took the kernel past 250 registers.)
constexpr int kTcLoads = kTcBM * kTcBK / kTcThreads;

template <Precision P>
struct TcOperand {
  static_assert(P == Precision::Tf32 || P == Precision::Bf16, "tensor cores: tf32 or bf16");
  // tf32 kept in the 32 bits of an f32 (low 13 zero), bf16 as its 16 bits.
  using Elem = std::conditional_t<P == Precision::Tf32, uint32_t, uint16_t>;
  // Row length in elements: 32 of k plus padding (4 words for tf32, 4 words = 8 halves for bf16),
  // so rows start 4 banks apart (tf32; 20 for bf16) and the 8 rows × 4 columns of a fragment read
  // hit 32 banks.
  static constexpr int kRow = P == Precision::Tf32 ? kTcBK + 4 : kTcBK + 8;
  static __device__ __forceinline__ Elem from_float(float x) {
    if constexpr (P == Precision::Tf32) {
      return to_tf32(x);
    } else {
      return __bfloat16_as_ushort(__float2bfloat16_rn(x));
    }
  }
};

// Register l of a thread's share of a 64×32 operand tile: its (row, k) in the tile, along
// whichever of the two the Problem's tensor is contiguous in (coalesced loads), and such that a
// warp's stores into the padded rows hit 32 different banks.
//   Contiguous in k: each half-warp reads 16 consecutive k of a row (64 bytes), and a thread's 8
//   elements fall in 4 rows, not 8 (each row's gather address is hoisted out of the K loop, and 8
//   of them spilled the forward). The two half-warps of a warp take rows 4 apart: 4 rows of 36
//   words are 16 banks, so their 16 words each fill the two halves of the banks (rows 1 apart
//   overlapped in 12 banks, for tf32).
//   Contiguous in the rows: a warp reads 8 consecutive rows at 4 k (four 32-byte sectors; rows
//   4 banks apart, k 1 apart: 32 banks), and a thread keeps one row and steps through k (32
//   consecutive rows at one k hit 8 banks, 4 times each).
template <bool kContiguousInK>
__device__ __forceinline__ void tc_tile_position(int l, int& row, int& kk) {
  static_assert(kTcThreads == 256 && kTcBK == 32 && kTcLoads == 8, "the mapping below assumes these");
  const int tid = int(threadIdx.x);
  if constexpr (kContiguousInK) {
    const int half = tid / 16;  // rows 0 4 1 5 2 6 3 7, then 8 12 9 13 …, for half-warps 0, 1, 2 …
    row = (half & 1) * 4 + (half >> 1 & 3) + 8 * (half >> 3) + 16 * (l / 2), kk = tid % 16 + 16 * (l % 2);
  } else {
    row = 8 * (tid / 32) + tid % 8, kk = tid % 32 / 8 + 4 * l;
  }
}

template <class Problem>
__device__ __forceinline__ void tc_load_tiles(const Problem& prob, int grp, int m0, int n0, int k0, int k_end,
                                              float (&a_reg)[kTcLoads], float (&b_reg)[kTcLoads]) {
#pragma unroll
  for (int l = 0; l < kTcLoads; ++l) {
    int m, n, kk;
    tc_tile_position<Problem::kAContiguousInK>(l, m, kk);
    m += m0, kk += k0;
    a_reg[l] = global_load_if(m < prob.M && kk < k_end ? prob.a_at(grp, m, kk) : Gathered{nullptr, false});
    tc_tile_position<Problem::kBContiguousInK>(l, n, kk);
    n += n0, kk += k0;
    b_reg[l] = global_load_if(n < prob.N && kk < k_end ? prob.b_at(grp, kk, n) : Gathered{nullptr, false});
  }
}

template <class Problem, Precision P>
__device__ __forceinline__ void tc_store_tiles(typename TcOperand<P>::Elem (*as)[TcOperand<P>::kRow],
                                               typename TcOperand<P>::Elem (*bs)[TcOperand<P>::kRow],
                                               const float (&a_reg)[kTcLoads], const float (&b_reg)[kTcLoads]) {
#pragma unroll
  for (int l = 0; l < kTcLoads; ++l) {
    int row, kk;
    tc_tile_position<Problem::kAContiguousInK>(l, row, kk);
    shared_store(&as[row][kk], TcOperand<P>::from_float(a_reg[l]));
    tc_tile_position<Problem::kBContiguousInK>(l, row, kk);
    shared_store(&bs[row][kk], TcOperand<P>::from_float(b_reg[l]));
  }
}

// An element of a tile, by row and k.
template <Precision P>
__device__ __forceinline__ uint32_t tc_at(const typename TcOperand<P>::Elem (*tile)[TcOperand<P>::kRow], int row,
                                          int k) {
  return shared_load(&tile[row][k]);
}
// Two bf16 of a row, k and k+1 (k even: one word), as one fragment register (k in the low half).
__device__ __forceinline__ uint32_t tc_pair(const uint16_t (*tile)[TcOperand<Precision::Bf16>::kRow], int row,
                                            int k) {
  return tc_at<Precision::Bf16>(tile, row, k) | tc_at<Precision::Bf16>(tile, row, k + 1) << 16;
}

// The k of one mma step: 8 for tf32 (m16n8k8), 16 for bf16 (m16n8k16).
template <Precision P>
constexpr int kTcMmaK = P == Precision::Tf32 ? 8 : 16;

// Fragment register `j` of the mma step at `ks`, for a lane of column coordinate t, from `row` of
// a tile (mma.cuh's tables: tf32 holds column t + 4j, bf16 columns 2t + 8j and the next).
template <Precision P>
__device__ __forceinline__ uint32_t tc_fragment(const typename TcOperand<P>::Elem (*tile)[TcOperand<P>::kRow],
                                                int row, int ks, int t, int j) {
  if constexpr (P == Precision::Tf32) {
    return tc_at<P>(tile, row, ks + t + 4 * j);
  } else {
    return tc_pair(tile, row, ks + 2 * t + 8 * j);
  }
}

template <Precision P>
__device__ __forceinline__ void tc_mma(float (&acc)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  if constexpr (P == Precision::Tf32) {
    mma_tf32_m16n8k8(acc, a, b, acc);
  } else {
    mma_bf16_m16n8k16(acc, a, b, acc);
  }
}

// workspace as in implicit_gemm_kernel.
template <class Problem, Precision P>
__global__ void __launch_bounds__(kTcThreads, 2)
    implicit_gemm_tc_kernel(Problem prob, int splits, int k_per_split, float* workspace) {
  using Op = TcOperand<P>;
  CUSEG_SHARED(typename Op::Elem, as, [kTcBM][Op::kRow]);
  CUSEG_SHARED(typename Op::Elem, bs, [kTcBN][Op::kRow]);

  const int m0 = blockIdx.x * kTcBM, n0 = blockIdx.y * kTcBN;
  const int grp = blockIdx.z / splits;
  const int k_begin = (blockIdx.z % splits) * k_per_split;
  const int k_end = min(prob.Kd, k_begin + k_per_split);
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int wm = (warp / 4) * 32, wn = (warp % 4) * 16;  // the warp's 32×16 within the tile
  const int g = lane / 4, t = lane % 4;                   // mma.cuh's fragment coordinates

  float acc[2][2][4] = {};
  float a_reg[kTcLoads], b_reg[kTcLoads];
  tc_load_tiles(prob, grp, m0, n0, k_begin, k_end, a_reg, b_reg);
  for (int k0 = k_begin; k0 < k_end; k0 += kTcBK) {
    tc_store_tiles<Problem, P>(as, bs, a_reg, b_reg);
    __syncthreads();
    if (k0 + kTcBK < k_end) tc_load_tiles(prob, grp, m0, n0, k0 + kTcBK, k_end, a_reg, b_reg);
#pragma unroll
    for (int ks = 0; ks < kTcBK; ks += kTcMmaK<P>) {
      uint32_t a[2][4], b[2][2];
#pragma unroll
      for (int mi = 0; mi < 2; ++mi)
#pragma unroll
        for (int i = 0; i < 4; ++i) a[mi][i] = tc_fragment<P>(as, wm + mi * 16 + g + 8 * (i & 1), ks, t, i >> 1);
#pragma unroll
      for (int ni = 0; ni < 2; ++ni)
#pragma unroll
        for (int i = 0; i < 2; ++i) b[ni][i] = tc_fragment<P>(bs, wn + ni * 8 + g, ks, t, i);
#pragma unroll
      for (int mi = 0; mi < 2; ++mi)
#pragma unroll
        for (int ni = 0; ni < 2; ++ni) tc_mma<P>(acc[mi][ni], a[mi], b[ni]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int ni = 0; ni < 2; ++ni)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int m = m0 + wm + mi * 16 + g + 8 * (i >> 1), n = n0 + wn + ni * 8 + 2 * t + (i & 1);
        if (m >= prob.M || n >= prob.N) continue;
        if (workspace) {
          workspace[(int64_t(blockIdx.z) * prob.M + m) * prob.N + n] = acc[mi][ni][i];
        } else {
          prob.store(grp, m, n, acc[mi][ni][i]);
        }
      }
}

}  // namespace cuseg::cuda
