// The emulated device's checks of how kernels touch memory: 128-bit accesses must be aligned
// (vector_access.cuh), and cp.async destinations (cp_async.cuh) hold garbage until their wait —
// each shown on a small kernel with the bug planted, beside the same kernel done right.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/cp_async.cuh"
#include "cuseg/kernels/cuda/shared_memory.cuh"
#include "cuseg/kernels/cuda/vector_access.cuh"
#include "emu_test_util.h"
#include "test_util.h"

namespace cuseg::cuda {
namespace {

// y[4i..4i+3] = 2 x[4i..4i+3], reading from x + offset floats.
__global__ void double_quads_kernel(const float* x, float* y, int offset) {
  const int i = int(threadIdx.x);
  store_float4(y + 4 * i, each(load_float4(x + offset + 4 * i), [](float v) { return 2 * v; }));
}

// Two stages of 64 floats each through shared memory with cp.async, the second's copies in
// flight while the first is read: out = in, but only if each stage is waited for before it is
// read (`wait_first` = false plants the missing wait).
__global__ void staged_copy_kernel(const float* in, float* out, bool wait_first) {
  CUSEG_SHARED_ALIGNED(16, float, stage, [2][64]);
  const int t = int(threadIdx.x);  // 16 threads, 4 floats each per stage
  cp_async_16(&stage[0][4 * t], in + 4 * t);
  cp_async_commit();
  cp_async_16(&stage[1][4 * t], in + 64 + 4 * t);
  cp_async_commit();
  if (wait_first) cp_async_wait<1>();  // the first group has landed; the second may still fly
  __syncthreads();
  for (int k = 0; k < 4; ++k) out[4 * t + k] = stage[0][(4 * t + 4 + k) % 64];  // another thread's copy
  cp_async_wait<0>();
  __syncthreads();
  for (int k = 0; k < 4; ++k) out[64 + 4 * t + k] = stage[1][(4 * t + 4 + k) % 64];
}

// A copy whose source is invalid is zeros, without reading the source.
__global__ void zero_fill_kernel(const float* in, float* out) {
  CUSEG_SHARED_ALIGNED(16, float, tile, [8]);
  cp_async_16(&tile[4 * threadIdx.x], in + 4 * threadIdx.x, threadIdx.x == 0);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();
  for (int k = 0; k < 4; ++k) out[4 * threadIdx.x + k] = tile[4 * threadIdx.x + k];
}

// Planted: a 16-byte copy into a float array declared without 16-byte alignment, which nvcc
// may place at any multiple of 4.
__global__ void cp_async_to_unaligned_shared_kernel(const float* in, float* out) {
  CUSEG_SHARED(float, tile, [4]);
  cp_async_16(&tile[0], in);
  cp_async_commit();
  cp_async_wait<0>();
  out[0] = tile[0];
}

__global__ void cp_async_to_global_kernel(const float* in, float* out) {
  cp_async_16(out, in);
  cp_async_commit();
  cp_async_wait<0>();
}

std::vector<float> iota(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = float(i + 1);
  return v;
}

TEST(EmulatorMemoryGpu, AlignedFloat4AccessesComputeAsOnTheDevice) {
  CUSEG_REQUIRE_GPU();
  float* x = device_alloc<float>(68);
  float* y = device_alloc<float>(64);
  const auto host = iota(68);
  CUSEG_CUDA_CHECK(cudaMemcpy(x, host.data(), 68 * sizeof(float), cudaMemcpyHostToDevice));
  CUSEG_LAUNCH(double_quads_kernel, dim3(1), dim3(16), 0, stream(0), x, y, 4);
  const auto got = to_host(y, 64);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(got[i], 2 * host[4 + i]) << i;
  cudaFree(x);
  cudaFree(y);
}

TEST(EmulatorMemoryFaultsGpu, AMisalignedFloat4IsTheDevicesMisalignedAddress) {
  CUSEG_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  expect_kernel_fault(
      [] {
        float* x = device_alloc<float>(68);
        float* y = device_alloc<float>(64);
        CUSEG_LAUNCH(double_quads_kernel, dim3(1), dim3(16), 0, stream(0), x, y, 1);  // planted: x + 1
      },
      "double_quads_kernel: thread .* a float4 load at .*memory_access_test.cpp:[0-9]+ of 0x[0-9a-f]+, which is not a "
      "multiple of 16 bytes: misaligned address");
}

TEST(EmulatorMemoryGpu, CpAsyncStagesArriveAtTheirWait) {
  CUSEG_REQUIRE_GPU();
  float* in = device_alloc<float>(128);
  float* out = device_alloc<float>(128);
  const auto host = iota(128);
  CUSEG_CUDA_CHECK(cudaMemcpy(in, host.data(), 128 * sizeof(float), cudaMemcpyHostToDevice));
  const auto run = [&](bool wait_first) {
    CUSEG_LAUNCH(staged_copy_kernel, dim3(1), dim3(16), 0, stream(0), in, out, wait_first);
    const auto got = to_host(out, 128);
    int wrong = 0;
    for (int i = 0; i < 128; ++i) wrong += !(got[i] == host[i / 64 * 64 + (i % 64 + 4) % 64]);
    return wrong;
  };
  EXPECT_EQ(run(true), 0);
  if (kThreadSanitizer) return;  // the planted bug is a race there: EmulatorRacesGpu.AMissingCpAsyncWait…
  // Without it, the first thread to read after the barrier reads copies no wait has landed
  // (later ones may find some landed by their owners' second wait: a race on the device).
  EXPECT_GT(run(false), 0) << "without the first wait, the first stage is read before it lands";
  cudaFree(in);
  cudaFree(out);
}

TEST(EmulatorRacesGpu, AMissingCpAsyncWaitIsReportedOnThreads) {
  CUSEG_REQUIRE_GPU();
  if (!kThreadSanitizer) GTEST_SKIP() << "needs the ThreadSanitizer build (preset emu-tsan)";
  expect_race_report(
      [] {
        float* in = device_alloc<float>(128);
        float* out = device_alloc<float>(128);
        CUSEG_LAUNCH(staged_copy_kernel, dim3(1), dim3(16), 0, stream(0), in, out, false);
      },
      "staged_copy_kernel");
}

TEST(EmulatorMemoryGpu, CpAsyncOfAnInvalidSourceIsZeros) {
  CUSEG_REQUIRE_GPU();
  float* in = device_alloc<float>(4);  // only the first thread's source exists
  float* out = device_alloc<float>(8);
  const std::vector<float> host = {1, 2, 3, 4};
  CUSEG_CUDA_CHECK(cudaMemcpy(in, host.data(), sizeof(float) * 4, cudaMemcpyHostToDevice));
  CUSEG_LAUNCH(zero_fill_kernel, dim3(1), dim3(2), 0, stream(0), in, out);
  EXPECT_EQ(to_host(out, 8), (std::vector<float>{1, 2, 3, 4, 0, 0, 0, 0}));
  cudaFree(in);
  cudaFree(out);
}

TEST(EmulatorMemoryFaultsGpu, SharedMemoryIsOnlyAsAlignedAsDeclared) {
  CUSEG_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  expect_kernel_fault(
      [] {
        float* in = device_alloc<float>(4);
        float* out = device_alloc<float>(1);
        CUSEG_LAUNCH(cp_async_to_unaligned_shared_kernel, dim3(1), dim3(1), 0, stream(0), in, out);
      },
      "cp_async_to_unaligned_shared_kernel: .*a cp.async destination at .*not a multiple of 16 bytes: "
      "misaligned address");
}

TEST(EmulatorMemoryFaultsGpu, CpAsyncMustWriteSharedMemory) {
  CUSEG_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  expect_kernel_fault(
      [] {
        float* in = device_alloc<float>(4);
        float* out = device_alloc<float>(4);
        CUSEG_LAUNCH(cp_async_to_global_kernel, dim3(1), dim3(1), 0, stream(0), in, out);
      },
      "cp_async_to_global_kernel: .*cp.async .* to an address outside the block's shared memory");
}

}  // namespace
}  // namespace cuseg::cuda
