// The emulated CUDA device itself (built only with CUSEG_CUDA=EMULATED): each test launches a
// small kernel written for the purpose and checks that the emulator computes what a GPU would,
// or reports what a GPU would refuse — launch limits, divergent barriers, absent warp lanes —
// naming the kernel, instead of hanging or passing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/cuda/launch_count.h"
#include "cuseg/core/device.h"
#include "cuseg/kernels/cuda/shared_memory.cuh"
#include "emu_test_util.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg::cuda {
namespace {

__global__ void write_index_kernel(int* out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = i;
}

__global__ void grid_coordinates_kernel(unsigned* out) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  out[block * blockDim.x * blockDim.y * blockDim.z + thread] = block * 1000 + thread;
}

// A block sum in shared memory: correct only if every __syncthreads is there.
__global__ void block_sum_kernel(const float* x, float* out) {
  CUSEG_SHARED(float, partial, [128]);
  partial[threadIdx.x] = x[blockIdx.x * 128 + threadIdx.x];
  __syncthreads();
  for (int half = 64; half > 0; half /= 2) {
    if (threadIdx.x < unsigned(half)) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

__global__ void barrier_after_return_kernel(int* out) {
  if (threadIdx.x >= 16) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void warp_sum_kernel(const int* x, int* out) {
  int v = x[threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  out[threadIdx.x] = v;
}

__global__ void warp_shuffles_kernel(int* down, int* up, int* broadcast, unsigned* ballot) {
  const int lane = int(threadIdx.x % 32);
  down[threadIdx.x] = __shfl_down_sync(0xffffffffu, lane, 3);
  up[threadIdx.x] = __shfl_up_sync(0xffffffffu, lane, 2, 8);
  broadcast[threadIdx.x] = __shfl_sync(0xffffffffu, lane * 10, 5);
  ballot[threadIdx.x] = __ballot_sync(0xffffffffu, lane % 3 == 0);
}

__global__ void absent_lane_kernel(int* out) {
  if (threadIdx.x % 32 == 7) return;  // lane 7 never reaches the shuffle its mask names
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, int(threadIdx.x), 1);
}

__global__ void atomic_count_kernel(unsigned long long* count, double* sum) {
  atomicAdd(count, 1ull);
  atomicAdd(sum, 0.5);
}

__global__ void copy_kernel(const float* x, float* y, int n) {
  for (int i = int(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += int(gridDim.x * blockDim.x)) y[i] = x[i];
}


TEST(EmulatorGpu, RunsEveryThreadOfEveryBlockWithItsCoordinates) {
  CUSEG_REQUIRE_GPU();
  unsigned* out = device_alloc<unsigned>(3 * 2 * 2 * 4 * 3 * 2);
  CUSEG_LAUNCH(grid_coordinates_kernel, dim3(3, 2, 2), dim3(4, 3, 2), 0, stream(0), out);
  const auto got = to_host(out, 3 * 2 * 2 * 4 * 3 * 2);
  for (unsigned b = 0; b < 12; ++b)
    for (unsigned t = 0; t < 24; ++t) ASSERT_EQ(got[b * 24 + t], b * 1000 + t) << "block " << b << " thread " << t;
  cudaFree(out);
}

TEST(EmulatorGpu, NewDeviceMemoryIsNanSoUnwrittenOutputsShow) {
  CUSEG_REQUIRE_GPU();
  float* p = device_alloc<float>(64);
  for (float v : to_host(p, 64)) EXPECT_TRUE(std::isnan(v));
  cudaFree(p);
}

TEST(EmulatorGpu, RefusesGridsBeyondTheH100LimitsNamingTheKernelAndDimension) {
  CUSEG_REQUIRE_GPU();
  int* out = device_alloc<int>(1);
  const std::string kernel = "write_index_kernel";
  const auto refused = [&](dim3 grid, dim3 block, size_t shared, const char* why) {
    test::expect_error([&] { CUSEG_LAUNCH(write_index_kernel, grid, block, shared, stream(0), out, 1); },
                       {"invalid configuration argument", kernel.c_str(), why});
  };
  refused(dim3(1, 65536), dim3(1), 0, "gridDim.y = 65536 (the limit is 65535)");
  refused(dim3(1, 1, 70000), dim3(1), 0, "gridDim.z = 70000");
  refused(dim3(1), dim3(1025), 0, "blockDim.x = 1025");
  refused(dim3(1), dim3(32, 32, 2), 0, "blockDim.x*y*z = 2048");
  refused(dim3(0), dim3(32), 0, "empty grid");
  refused(dim3(1), dim3(32), 48 * 1024 + 1, "dynamic shared memory (the limit is 49152");
  // A refused launch is not sticky: the next one runs.
  CUSEG_LAUNCH(write_index_kernel, dim3(1), dim3(1), 0, stream(0), out, 1);
  EXPECT_EQ(to_host(out, 1)[0], 0);
  cudaFree(out);
}

TEST(EmulatorGpu, CountsLaunchesOnTheStream) {
  CUSEG_REQUIRE_GPU();
  int* out = device_alloc<int>(256);
  const int64_t n = count_kernel_launches(Device::cuda(0), [&] {
    for (int i = 0; i < 3; ++i) CUSEG_LAUNCH(write_index_kernel, dim3(1), dim3(256), 0, stream(0), out, 256);
  });
  EXPECT_EQ(n, 3);
  cudaFree(out);
}

TEST(EmulatorGpu, SharedMemoryBarriersAndWarpShufflesComputeAsOnTheDevice) {
  CUSEG_REQUIRE_GPU();
  constexpr int kBlocks = 5;
  std::vector<float> x(kBlocks * 128);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 17);
  float* dx = device_alloc<float>(x.size());
  float* dout = device_alloc<float>(kBlocks);
  CUSEG_CUDA_CHECK(cudaMemcpy(dx, x.data(), x.size() * sizeof(float), cudaMemcpyHostToDevice));
  CUSEG_LAUNCH(block_sum_kernel, dim3(kBlocks), dim3(128), 0, stream(0), static_cast<const float*>(dx), dout);
  const auto sums = to_host(dout, kBlocks);
  for (int b = 0; b < kBlocks; ++b) {
    float want = 0;
    for (int i = 0; i < 128; ++i) want += x[size_t(b * 128 + i)];
    EXPECT_EQ(sums[size_t(b)], want) << "block " << b;
  }

  std::vector<int> v(64);
  for (int i = 0; i < 64; ++i) v[size_t(i)] = i;
  int* dv = device_alloc<int>(64);
  int* dsum = device_alloc<int>(64);
  CUSEG_CUDA_CHECK(cudaMemcpy(dv, v.data(), 64 * sizeof(int), cudaMemcpyHostToDevice));
  CUSEG_LAUNCH(warp_sum_kernel, dim3(1), dim3(64), 0, stream(0), static_cast<const int*>(dv), dsum);
  const auto warp_sums = to_host(dsum, 64);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(warp_sums[size_t(i)], i < 32 ? 496 : 1520) << "thread " << i;

  int *down = device_alloc<int>(32), *up = device_alloc<int>(32), *bcast = device_alloc<int>(32);
  unsigned* ballot = device_alloc<unsigned>(32);
  CUSEG_LAUNCH(warp_shuffles_kernel, dim3(1), dim3(32), 0, stream(0), down, up, bcast, ballot);
  const auto d = to_host(down, 32), u = to_host(up, 32), bc = to_host(bcast, 32);
  const auto bl = to_host(ballot, 32);
  unsigned want_ballot = 0;
  for (int lane = 0; lane < 32; lane += 3) want_ballot |= 1u << lane;
  for (int lane = 0; lane < 32; ++lane) {
    EXPECT_EQ(d[size_t(lane)], lane + 3 < 32 ? lane + 3 : lane) << "down, lane " << lane;
    EXPECT_EQ(u[size_t(lane)], lane % 8 >= 2 ? lane - 2 : lane) << "up (width 8), lane " << lane;
    EXPECT_EQ(bc[size_t(lane)], 50) << "broadcast, lane " << lane;
    EXPECT_EQ(bl[size_t(lane)], want_ballot) << "ballot, lane " << lane;
  }
  for (void* p : {static_cast<void*>(dx), static_cast<void*>(dout), static_cast<void*>(dv), static_cast<void*>(dsum),
                  static_cast<void*>(down), static_cast<void*>(up), static_cast<void*>(bcast), static_cast<void*>(ballot)})
    cudaFree(p);
}

TEST(EmulatorGpu, AtomicsFromEveryThreadAllLand) {
  CUSEG_REQUIRE_GPU();
  auto* count = device_alloc<unsigned long long>(1);
  auto* sum = device_alloc<double>(1);
  CUSEG_CUDA_CHECK(cudaMemset(count, 0, sizeof(unsigned long long)));
  CUSEG_CUDA_CHECK(cudaMemset(sum, 0, sizeof(double)));
  CUSEG_LAUNCH(atomic_count_kernel, dim3(7), dim3(96), 0, stream(0), count, sum);
  EXPECT_EQ(to_host(count, 1)[0], 7u * 96u);
  EXPECT_EQ(to_host(sum, 1)[0], 7 * 96 * 0.5);
  cudaFree(count);
  cudaFree(sum);
}

TEST(EmulatorGpu, StreamsRunInOrderAndEventsWaitForTheirPosition) {
  CUSEG_REQUIRE_GPU();
  constexpr int n = 1 << 16;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[size_t(i)] = float(i);
  float *a = device_alloc<float>(n), *b = device_alloc<float>(n), *c = device_alloc<float>(n);
  cudaStream_t s = stream(0);
  CUSEG_CUDA_CHECK(cudaMemcpyAsync(a, x.data(), n * sizeof(float), cudaMemcpyHostToDevice, s));
  std::fill(x.begin(), x.end(), -1.0f);  // a pageable source is staged: changing it now is safe
  CUSEG_LAUNCH(copy_kernel, dim3(8), dim3(128), 0, s, static_cast<const float*>(a), b, n);
  CUSEG_LAUNCH(copy_kernel, dim3(8), dim3(128), 0, s, static_cast<const float*>(b), c, n);
  cudaEvent_t done;
  CUSEG_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  CUSEG_CUDA_CHECK(cudaEventRecord(done, s));
  CUSEG_CUDA_CHECK(cudaEventSynchronize(done));
  EXPECT_EQ(cudaEventQuery(done), cudaSuccess);
  const auto got = to_host(c, n);
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[size_t(i)], float(i)) << "element " << i;
  cudaEventDestroy(done);
  for (float* p : {a, b, c}) cudaFree(p);
}

// What the emulated NCCL relies on: a host function runs after the work queued before it, and the
// work queued after it waits for it.
struct HostStep {
  const float* b;
  float* a;
  int n;
  double sum_of_b = 0;
};

void host_step(void* p) {
  auto* step = static_cast<HostStep*>(p);
  for (int i = 0; i < step->n; ++i) step->sum_of_b += step->b[i];
  for (int i = 0; i < step->n; ++i) step->a[i] = -1.0f;
}

TEST(EmulatorGpu, HostFunctionsRunInStreamOrder) {
  CUSEG_REQUIRE_GPU();
  constexpr int n = 1 << 14;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[size_t(i)] = float(i);
  float *a = device_alloc<float>(n), *b = device_alloc<float>(n), *c = device_alloc<float>(n);
  cudaStream_t s = stream(0);
  CUSEG_CUDA_CHECK(cudaMemcpyAsync(a, x.data(), n * sizeof(float), cudaMemcpyHostToDevice, s));
  CUSEG_LAUNCH(copy_kernel, dim3(16), dim3(128), 0, s, static_cast<const float*>(a), b, n);
  HostStep step{b, a, n};
  CUSEG_CUDA_CHECK(cudaLaunchHostFunc(s, host_step, &step));
  CUSEG_LAUNCH(copy_kernel, dim3(16), dim3(128), 0, s, static_cast<const float*>(a), c, n);
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));
  EXPECT_EQ(step.sum_of_b, double(n) * (n - 1) / 2);  // b was whole when the function ran
  const auto got = to_host(c, n);
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[size_t(i)], -1.0f) << "element " << i;  // c copied after it
  for (float* p : {a, b, c}) cudaFree(p);
}

TEST(EmulatorGpu, MemoryInfoCountsAllocationsAndRefusesWhatDoesNotFit) {
  CUSEG_REQUIRE_GPU();
  size_t free0 = 0, total = 0;
  CUSEG_CUDA_CHECK(cudaMemGetInfo(&free0, &total));
  void* p = nullptr;
  CUSEG_CUDA_CHECK(cudaMalloc(&p, 1 << 20));
  size_t free1 = 0;
  CUSEG_CUDA_CHECK(cudaMemGetInfo(&free1, &total));
  EXPECT_EQ(free0 - free1, size_t(1) << 20);
  void* too_big = nullptr;
  EXPECT_EQ(cudaMalloc(&too_big, total), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // not sticky
  cudaFree(p);
}

TEST(EmulatorGpu, DevicePropertiesAreAnH100s) {
  CUSEG_REQUIRE_GPU();
  cudaDeviceProp prop;
  CUSEG_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  EXPECT_EQ(prop.multiProcessorCount, 132);
  EXPECT_EQ(prop.sharedMemPerMultiprocessor, size_t(228) * 1024);
  EXPECT_EQ(prop.maxGridSize[1], 65535);
  EXPECT_EQ(prop.major, 9);
}


TEST(EmulatorFaultsGpu, ReportsBarriersReachedFromDifferentPlaces) {
  CUSEG_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  expect_kernel_fault(
      [] {
        int* out = device_alloc<int>(32);
        CUSEG_LAUNCH(divergent_barrier_kernel, dim3(1), dim3(32), 0, stream(0), out);
      },
      "divergent_barrier_kernel: thread .* divergent barriers: __syncthreads at .*emulator_test.cpp");
}

TEST(EmulatorFaultsGpu, ReportsABarrierThatThreadsReturnedFrom) {
  CUSEG_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  expect_kernel_fault(
      [] {
        int* out = device_alloc<int>(32);
        CUSEG_LAUNCH(barrier_after_return_kernel, dim3(1), dim3(32), 0, stream(0), out);
      },
      "barrier_after_return_kernel: .*(returned while .* wait for it at __syncthreads|reached after)");
}

TEST(EmulatorFaultsGpu, ReportsALaneNamedInTheMaskThatNeverArrives) {
  CUSEG_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  expect_kernel_fault(
      [] {
        int* out = device_alloc<int>(32);
        CUSEG_LAUNCH(absent_lane_kernel, dim3(1), dim3(32), 0, stream(0), out);
      },
      "absent_lane_kernel: .*__shfl_xor_sync");
}

}  // namespace
}  // namespace cuseg::cuda
