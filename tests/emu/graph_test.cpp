// Stream capture and graphs on the emulated device (cuseg/emu/graph.cpp): a capture records
// without running, a graph launch replays everything in order as one counted launch, and the calls
// a capture cannot contain (waiting for the device, allocating, pageable copies) are refused and
// spoil the capture, as on a GPU.
#include <gtest/gtest.h>

#include <vector>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/error.h"
#include "cuseg/emu/launch.h"
#include "emu_test_util.h"
#include "test_util.h"

namespace cuseg::cuda {
namespace {

__global__ void add_kernel(float* x, float v, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] += v;
}

__global__ void scale_kernel(float* x, float v, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] *= v;
}

class EmulatorGraphGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_status();
    CUSEG_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking));
    x_ = device_alloc<float>(kN);
    CUSEG_CUDA_CHECK(cudaMemsetAsync(x_, 0, kN * sizeof(float), s_));
    CUSEG_CUDA_CHECK(cudaStreamSynchronize(s_));
  }
  void TearDown() override {
    if (x_) cudaFree(x_);
  }
  std::vector<float> values() {
    std::vector<float> host(kN);
    CUSEG_CUDA_CHECK(cudaStreamSynchronize(s_));
    CUSEG_CUDA_CHECK(cudaMemcpy(host.data(), x_, kN * sizeof(float), cudaMemcpyDeviceToHost));
    return host;
  }
  static constexpr int kN = 300;
  cudaStream_t s_ = nullptr;
  float* x_ = nullptr;
};

TEST_F(EmulatorGraphGpu, ACaptureRecordsAndEachLaunchReplaysItInOrderAsOneLaunch) {
  ASSERT_EQ(cudaStreamBeginCapture(s_, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  cudaStreamCaptureStatus status;
  ASSERT_EQ(cudaStreamIsCapturing(s_, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  const int64_t before = emu::launch_count(s_);
  CUSEG_LAUNCH(add_kernel, dim3(2), dim3(256), 0, s_, x_, 1.f, kN);
  CUSEG_LAUNCH(scale_kernel, dim3(2), dim3(256), 0, s_, x_, 3.f, kN);
  CUSEG_CUDA_CHECK(cudaMemsetAsync(x_ + kN - 1, 0, sizeof(float), s_));
  EXPECT_EQ(emu::launch_count(s_), before) << "captured launches do not run, so they do not count";
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s_, &graph), cudaSuccess);
  ASSERT_NE(graph, nullptr);
  EXPECT_EQ(values(), std::vector<float>(kN, 0.f)) << "nothing ran during the capture";

  size_t count = 0;
  ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &count), cudaSuccess);
  ASSERT_EQ(count, 3u);
  std::vector<cudaGraphNode_t> nodes(count);
  ASSERT_EQ(cudaGraphGetNodes(graph, nodes.data(), &count), cudaSuccess);
  std::vector<cudaGraphNodeType> kinds;
  for (cudaGraphNode_t node : nodes) {
    cudaGraphNodeType kind;
    ASSERT_EQ(cudaGraphNodeGetType(node, &kind), cudaSuccess);
    kinds.push_back(kind);
  }
  EXPECT_EQ(kinds, (std::vector<cudaGraphNodeType>{cudaGraphNodeTypeKernel, cudaGraphNodeTypeKernel,
                                                   cudaGraphNodeTypeMemset}));

  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, s_), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, s_), cudaSuccess);
  EXPECT_EQ(emu::launch_count(s_), before + 2) << "each graph launch counts once";
  std::vector<float> expected(kN, (1.f * 3.f + 1.f) * 3.f);  // (0 + 1)·3, then (3 + 1)·3
  expected[kN - 1] = 0.f;  // the memset after the kernels, each time
  EXPECT_EQ(values(), expected);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST_F(EmulatorGraphGpu, WaitingAllocatingAndPageableCopiesAreRefusedAndSpoilTheCapture) {
  std::vector<float> host(kN);
  const auto refused = [&](const char* what, auto call) {
    SCOPED_TRACE(what);
    ASSERT_EQ(cudaStreamBeginCapture(s_, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    CUSEG_LAUNCH(add_kernel, dim3(2), dim3(256), 0, s_, x_, 1.f, kN);
    EXPECT_EQ(call(), cudaErrorStreamCaptureUnsupported);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(s_, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    cudaGetLastError();
  };
  refused("cudaStreamSynchronize", [&] { return cudaStreamSynchronize(s_); });
  refused("cudaDeviceSynchronize", [&] { return cudaDeviceSynchronize(); });
  refused("cudaMallocAsync", [&] {
    void* p = nullptr;
    return cudaMallocAsync(&p, 64, s_);
  });
  refused("cudaFreeAsync", [&] { return cudaFreeAsync(x_, s_); });
  refused("cudaEventRecord", [&] {
    cudaEvent_t event = nullptr;
    CUSEG_CUDA_CHECK(cudaEventCreate(&event));
    const cudaError_t err = cudaEventRecord(event, s_);
    cudaEventDestroy(event);
    return err;
  });
  refused("a launch the device refuses (the graph would lack it)", [&] {
    try {
      CUSEG_LAUNCH(add_kernel, dim3(1), dim3(2048), 0, s_, x_, 1.f, kN);  // over 1024 threads
    } catch (const Error&) {
      return cudaErrorStreamCaptureUnsupported;  // what the capture's end must then say is below
    }
    return cudaSuccess;
  });
  refused("a copy to pageable memory", [&] {
    return cudaMemcpyAsync(host.data(), x_, kN * sizeof(float), cudaMemcpyDeviceToHost, s_);
  });
  EXPECT_EQ(values(), std::vector<float>(kN, 0.f)) << "no refused capture ran anything";
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeThreadLocal), cudaErrorStreamCaptureUnsupported)
      << "the legacy stream cannot be captured";
}

}  // namespace
}  // namespace cuseg::cuda
