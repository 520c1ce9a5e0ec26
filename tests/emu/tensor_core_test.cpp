// The emulated tensor cores (cuseg/emu/tensor_core.cpp) through the kernels' own calls
// (cuseg/kernels/cuda/mma.cuh): one warp multiplies a tile with its fragments loaded as the PTX
// ISA lays them out, and must get the exact product on small integers (every order of the sums
// gives the same bits); the same kernel with two fragment registers exchanged must not. Then
// tf32's ignored mantissa bits, cvt.rna's rounding, and an mma that not every lane reaches.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/mma.cuh"
#include "emu_test_util.h"
#include "test_util.h"

namespace cuseg::cuda {
namespace {

enum class Fault { None, SwapARegisters, SwapBHalves };

// D (16×8) = A (16×K) · B (K×8) + C, all row-major f32 in global memory; one warp. tf32: the
// operands' f32 bits go in unconverted (the tensor cores ignore the low 13); bf16: rounded.
template <bool kBf16, Fault kFault>
__global__ void mma_tile_kernel(const float* A, const float* B, const float* C, float* D) {
  constexpr int K = kBf16 ? 16 : 8;
  const int lane = int(threadIdx.x), g = lane >> 2, t = lane & 3;
  uint32_t a[4], b[2];
  float c[4], d[4];
  for (int i = 0; i < 4; ++i) c[i] = C[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)];
  if constexpr (!kBf16) {
    for (int i = 0; i < 4; ++i) a[i] = __float_as_uint(A[(g + 8 * (i & 1)) * K + t + 4 * (i >> 1)]);
    for (int i = 0; i < 2; ++i) b[i] = __float_as_uint(B[(t + 4 * i) * 8 + g]);
  } else {
    for (int i = 0; i < 4; ++i) {
      const float* row = A + (g + 8 * (i & 1)) * K + 2 * t + 8 * (i >> 1);
      a[i] = pack_bf16x2(row[0], row[1]);
    }
    for (int i = 0; i < 2; ++i) {
      const int k = 2 * t + 8 * i;
      b[i] = kFault == Fault::SwapBHalves ? pack_bf16x2(B[(k + 1) * 8 + g], B[k * 8 + g])
                                          : pack_bf16x2(B[k * 8 + g], B[(k + 1) * 8 + g]);
    }
  }
  if (kFault == Fault::SwapARegisters) std::swap(a[1], a[2]);
  if constexpr (kBf16) {
    mma_bf16_m16n8k16(d, a, b, c);
  } else {
    mma_tf32_m16n8k8(d, a, b, c);
  }
  for (int i = 0; i < 4; ++i) D[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = d[i];
}

__global__ void to_tf32_kernel(const float* x, uint32_t* y, int n) {
  const int i = int(threadIdx.x);
  if (i < n) y[i] = to_tf32(x[i]);
}

__global__ void lane_leaves_before_mma_kernel(float* out) {
  if (threadIdx.x == 5) return;
  uint32_t a[4] = {0, 0, 0, 0}, b[2] = {0, 0};
  float c[4] = {0, 0, 0, 0}, d[4];
  mma_tf32_m16n8k8(d, a, b, c);
  out[threadIdx.x] = d[0];
}

std::vector<float> small_integers(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = float(int(s >> 59) - 16);  // −16 … 15: exact in bf16 and tf32, products and sums exact in f32
  }
  return v;
}

// Launches one warp of `kernel` on A, B, C and returns D.
template <class Kernel>
std::vector<float> run_tile(Kernel kernel, const std::vector<float>& A, const std::vector<float>& B,
                            const std::vector<float>& C) {
  float *dA = device_alloc<float>(A.size()), *dB = device_alloc<float>(B.size());
  float *dC = device_alloc<float>(C.size()), *dD = device_alloc<float>(16 * 8);
  CUSEG_CUDA_CHECK(cudaMemcpy(dA, A.data(), A.size() * 4, cudaMemcpyHostToDevice));
  CUSEG_CUDA_CHECK(cudaMemcpy(dB, B.data(), B.size() * 4, cudaMemcpyHostToDevice));
  CUSEG_CUDA_CHECK(cudaMemcpy(dC, C.data(), C.size() * 4, cudaMemcpyHostToDevice));
  CUSEG_LAUNCH(kernel, dim3(1), dim3(32), 0, stream(0), static_cast<const float*>(dA),
               static_cast<const float*>(dB), static_cast<const float*>(dC), dD);
  std::vector<float> D = to_host(dD, 16 * 8);
  for (float* p : {dA, dB, dC, dD}) cudaFree(p);
  return D;
}

std::vector<float> host_product(int K, const std::vector<float>& A, const std::vector<float>& B,
                                const std::vector<float>& C) {
  std::vector<float> D(16 * 8);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      float s = C[size_t(m * 8 + n)];
      for (int k = 0; k < K; ++k) s += A[size_t(m * K + k)] * B[size_t(k * 8 + n)];
      D[size_t(m * 8 + n)] = s;
    }
  return D;
}

int mismatches(const std::vector<float>& got, const std::vector<float>& want) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) bad += !(got[i] == want[i]);
  return bad;
}

TEST(TensorCoreGpu, Tf32TileIsTheExactProductOnSmallIntegersWithThePtxFragments) {
  CUSEG_REQUIRE_GPU();
  const auto A = small_integers(16 * 8, 1), B = small_integers(8 * 8, 2), C = small_integers(16 * 8, 3);
  const auto want = host_product(8, A, B, C);
  EXPECT_EQ(mismatches(run_tile(mma_tile_kernel<false, Fault::None>, A, B, C), want), 0);
  // a1 and a2 exchanged: rows 8–15 of columns 0–3 taken for rows 0–7 of columns 4–7.
  EXPECT_GT(mismatches(run_tile(mma_tile_kernel<false, Fault::SwapARegisters>, A, B, C), want), 64);
}

TEST(TensorCoreGpu, Bf16TileIsTheExactProductOnSmallIntegersWithThePtxFragments) {
  CUSEG_REQUIRE_GPU();
  const auto A = small_integers(16 * 16, 4), B = small_integers(16 * 8, 5), C = small_integers(16 * 8, 6);
  const auto want = host_product(16, A, B, C);
  EXPECT_EQ(mismatches(run_tile(mma_tile_kernel<true, Fault::None>, A, B, C), want), 0);
  EXPECT_GT(mismatches(run_tile(mma_tile_kernel<true, Fault::SwapARegisters>, A, B, C), want), 64);
  // The two bf16 of a B register in the wrong halves: rows k and k+1 exchanged.
  EXPECT_GT(mismatches(run_tile(mma_tile_kernel<true, Fault::SwapBHalves>, A, B, C), want), 64);
}

TEST(TensorCoreGpu, Tf32IgnoresTheLow13MantissaBitsOfItsOperands) {
  CUSEG_REQUIRE_GPU();
  // A = I (16×8, ones on the diagonal of its top 8 rows), B's entries 1 + 2^-11 + 2^-20: as tf32
  // they are 1 (10 mantissa bits kept, the rest ignored, not rounded), so D = C + 1 there.
  std::vector<float> A(16 * 8, 0.0f), B(8 * 8, 1.0f + 0x1p-11f + 0x1p-20f), C(16 * 8, 0.25f);
  for (int i = 0; i < 8; ++i) A[size_t(i * 8 + i)] = 1.0f;
  const auto D = run_tile(mma_tile_kernel<false, Fault::None>, A, B, C);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) EXPECT_EQ(D[size_t(m * 8 + n)], m < 8 ? 1.25f : 0.25f) << m << "," << n;
}

TEST(TensorCoreGpu, ToTf32RoundsToTenMantissaBitsHalfAwayFromZero) {
  CUSEG_REQUIRE_GPU();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {1.0f + 0x1p-11f,                // half an ulp of tf32: away, up
                                -(1.0f + 0x1p-11f),             // away from zero: down
                                1.0f + 0x1p-11f - 0x1p-23f,     // below half: 1
                                1.0f + 0x1p-10f + 0x1p-11f,     // half, odd below: still away
                                0x1p-135f,                      // subnormal, on tf32's grid: kept
                                inf, -inf, 3.0f};
  const std::vector<float> want = {1.0f + 0x1p-10f, -(1.0f + 0x1p-10f), 1.0f, 1.0f + 0x1p-9f,
                                   0x1p-135f, inf, -inf, 3.0f};
  float* dx = device_alloc<float>(x.size());
  uint32_t* dy = device_alloc<uint32_t>(x.size());
  CUSEG_CUDA_CHECK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
  CUSEG_LAUNCH(to_tf32_kernel, dim3(1), dim3(32), 0, stream(0), static_cast<const float*>(dx), dy, int(x.size()));
  const auto y = to_host(dy, x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i] & 0x1fffu, 0u) << "element " << i << ": low 13 bits set";
    EXPECT_EQ(std::bit_cast<float>(y[i]), want[i]) << "element " << i;
  }
  cudaFree(dx);
  cudaFree(dy);
}

TEST(TensorCoreFaultsGpu, ReportsAnMmaThatALaneNeverReaches) {
  CUSEG_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  expect_kernel_fault(
      [] {
        float* out = device_alloc<float>(32);
        CUSEG_LAUNCH(lane_leaves_before_mma_kernel, dim3(1), dim3(32), 0, stream(0), out);
      },
      "lane_leaves_before_mma_kernel: .*mma.sync.m16n8k8.tf32");
}

}  // namespace
}  // namespace cuseg::cuda
