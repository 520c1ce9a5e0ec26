// What the emulator's schedules show. In order (the default) a grid's blocks run one after
// another and a block's threads in index order, which hides bugs that depend on that order; the
// shuffled schedule (CUSEG_EMU_SCHEDULE=shuffled) runs blocks in a random order, several at once
// on their own OS threads, and a block's threads take their turns in a random order. Each test
// plants one such bug in a small kernel and shows which schedule, or ThreadSanitizer, sees it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/shared_memory.cuh"
#include "emu_test_util.h"
#include "test_util.h"

namespace cuseg::cuda {
namespace {

// Every block writes its index into its shared memory and reads it back after the barrier;
// thread 0 first reads what is there before anything was written.
__global__ void shared_per_block_kernel(float* before, float* after) {
  CUSEG_SHARED(float, mine, [1]);
  if (threadIdx.x == 0) {
    before[blockIdx.x] = mine[0];
    mine[0] = float(blockIdx.x);
  }
  __syncthreads();
  after[blockIdx.x * blockDim.x + threadIdx.x] = mine[0];
}

// Planted: block b reads what block b − 1 wrote, as if blocks ran in index order.
__global__ void chained_blocks_kernel(int* out) {
  if (threadIdx.x == 0) out[blockIdx.x] = blockIdx.x == 0 ? 1 : out[blockIdx.x - 1] + 1;
}

// Each lane reads its left neighbour's shared slot; correct only with the __syncwarp. (The first
// barrier, `all_alive`, keeps every lane alive at once for TSan: on OS threads, a pool thread that
// finished one lane would otherwise run the next after it, in an order TSan sees as synchronized;
// in order, as fibers, its last lane through goes first and would show the bug.)
__global__ void left_neighbour_kernel(float* out, bool syncwarp, bool all_alive) {
  CUSEG_SHARED(float, slot, [32]);
  const unsigned lane = threadIdx.x;
  if (all_alive) __syncthreads();
  slot[lane] = float(lane);
  if (syncwarp) __syncwarp();
  out[blockIdx.x * 32 + lane] = lane == 0 ? -1.f : slot[lane - 1];
}

// Planted: every block adds to one counter without an atomic.
__global__ void racing_blocks_kernel(int* count) {
  if (threadIdx.x == 0) *count = *count + 1;
}

// Each test starts in order, whatever CUSEG_EMU_SCHEDULE says, and leaves it so.
class EmulatorScheduleGpu : public ::testing::Test {
 protected:
  void SetUp() override { emu::set_schedule(""); }
  void TearDown() override { emu::set_schedule(""); }
};

TEST_F(EmulatorScheduleGpu, EveryBlockHasItsOwnSharedMemoryNanUntilWritten) {
  CUSEG_REQUIRE_GPU();
  for (const char* schedule : {"", "shuffled"}) {
    SCOPED_TRACE(std::string("schedule '") + schedule + "'");
    emu::set_schedule(schedule);
    constexpr int kBlocks = 24, kThreads = 64;
    float* before = device_alloc<float>(kBlocks);
    float* after = device_alloc<float>(kBlocks * kThreads);
    CUSEG_LAUNCH(shared_per_block_kernel, dim3(kBlocks), dim3(kThreads), 0, stream(0), before, after);
    const auto b = to_host(before, kBlocks);
    const auto a = to_host(after, kBlocks * kThreads);
    for (int k = 0; k < kBlocks; ++k) {
      EXPECT_TRUE(std::isnan(b[k])) << "block " << k << " found " << b[k] << " in shared memory no thread wrote";
      for (int t = 0; t < kThreads; ++t) ASSERT_EQ(a[k * kThreads + t], float(k)) << "block " << k << " thread " << t;
    }
    cudaFree(before);
    cudaFree(after);
  }
}

TEST_F(EmulatorScheduleGpu, ShuffledBlocksShowAKernelThatNeedsThemInOrder) {
  CUSEG_REQUIRE_GPU();
  if (kThreadSanitizer) GTEST_SKIP() << "the planted race is ThreadSanitizer's to report: EmulatorRacesGpu";
  constexpr int kBlocks = 64;
  int* out = device_alloc<int>(kBlocks);
  const auto run = [&] {
    CUSEG_CUDA_CHECK(cudaMemsetAsync(out, 0xFF, kBlocks * sizeof(int), stream(0)));
    CUSEG_LAUNCH(chained_blocks_kernel, dim3(kBlocks), dim3(32), 0, stream(0), out);
    return to_host(out, kBlocks);
  };
  std::vector<int> chain(kBlocks);
  for (int b = 0; b < kBlocks; ++b) chain[b] = b + 1;
  EXPECT_EQ(run(), chain) << "in order, the planted dependence goes unseen";
  emu::set_schedule("shuffled");
  EXPECT_NE(run(), chain) << "shuffled, blocks run before the ones they read";
  cudaFree(out);
}

TEST_F(EmulatorScheduleGpu, ShuffledLanesShowAMissingSyncwarp) {
  CUSEG_REQUIRE_GPU();
  if (kThreadSanitizer) GTEST_SKIP() << "the planted race is ThreadSanitizer's to report: EmulatorRacesGpu";
  constexpr int kBlocks = 8;
  float* out = device_alloc<float>(kBlocks * 32);
  const auto wrong_lanes = [&](bool syncwarp) {
    CUSEG_LAUNCH(left_neighbour_kernel, dim3(kBlocks), dim3(32), 0, stream(0), out, syncwarp, false);
    const auto got = to_host(out, kBlocks * 32);
    int wrong = 0;
    for (int i = 0; i < kBlocks * 32; ++i) wrong += !(got[i] == (i % 32 == 0 ? -1.f : float(i % 32 - 1)));
    return wrong;
  };
  EXPECT_EQ(wrong_lanes(false), 0) << "in order, lane i − 1 has always written before lane i reads";
  emu::set_schedule("shuffled");
  EXPECT_GT(wrong_lanes(false), 0) << "shuffled, a lane reads its neighbour's slot before it is written";
  EXPECT_EQ(wrong_lanes(true), 0) << "with the __syncwarp every lane reads what its neighbour wrote";
  cudaFree(out);
}

TEST(EmulatorRacesGpu, ARaceBetweenBlocksIsReportedWhenTheyRunShuffled) {
  CUSEG_REQUIRE_GPU();
  if (!kThreadSanitizer) GTEST_SKIP() << "needs the ThreadSanitizer build (preset emu-tsan)";
  expect_race_report(
      [] {
        emu::set_schedule("shuffled");
        int* count = device_alloc<int>(1);
        CUSEG_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(int), stream(0)));
        CUSEG_LAUNCH(racing_blocks_kernel, dim3(256), dim3(32), 0, stream(0), count);
      },
      "racing_blocks_kernel");
}

TEST(EmulatorRacesGpu, AMissingSyncwarpIsReportedOnThreads) {
  CUSEG_REQUIRE_GPU();
  if (!kThreadSanitizer) GTEST_SKIP() << "needs the ThreadSanitizer build (preset emu-tsan)";
  expect_race_report(
      [] {
        float* out = device_alloc<float>(32);
        CUSEG_LAUNCH(left_neighbour_kernel, dim3(1), dim3(32), 0, stream(0), out, false, true);
      },
      "left_neighbour_kernel");
}

}  // namespace
}  // namespace cuseg::cuda
