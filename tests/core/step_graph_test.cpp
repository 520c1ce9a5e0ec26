// A repeated unit of device work as one CUDA graph (core/cuda/step_graph.h): its allocations
// planned once and served from one block, later runs replaying the graph with no launch but the
// graph's, no allocation and no wait; what a capture cannot hold refused with a message. And the
// label checks a captured step defers to the device (core/device_checks.h).
#include "cuseg/core/cuda/step_graph.h"

#include <gtest/gtest.h>

#include "cuseg/config.h"
#include "cuseg/core/device_checks.h"
#include "cuseg/kernels/elementwise.h"
#include "cuseg/kernels/softmax.h"
#include "error_matchers.h"
#include "test_util.h"
#if CUSEG_CUDA_EMULATED
#include "cuseg/core/cuda/runtime.h"
#include "cuseg/emu/launch.h"
#endif

namespace cuseg {
namespace {

// x ← 2·(x + 1) + x through two temporaries, the first freed before the second is made: the plan
// may give both the same bytes; the result stays where the caller reads it.
void unit(Tensor& x) {
  Tensor a = Tensor::empty(x.shape(), DType::F32, x.device());
  Tensor one = Tensor::full(x.shape(), 1.0, DType::F32, x.device());
  add(x, one, a);
  Tensor b = Tensor::empty(x.shape(), DType::F32, x.device());
  scale(a, 2.0, b);
  add(b, x, x);
}

TEST(StepGraphGpu, ReplaysTheUnitWithItsMemoryPlannedOnce) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  Tensor x = Tensor::from_vector(std::vector<float>{0.5f, -1.f, 3.f, 0.f}, Shape{4}).to(gpu);
  std::vector<double> want = {0.5, -1, 3, 0};
  cuda::StepGraph graph(gpu);
  for (int run = 0; run < 6; ++run) {
    graph.run([&] { unit(x); });
    for (double& v : want) v = 2 * (v + 1) + v;
    const std::vector<float> got = x.to(Device::cpu()).to_vector<float>();
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(double(got[i]), want[i]) << "run " << run << ", element " << i;
    EXPECT_EQ(graph.replaying(), run >= 2) << "eager, recorded, then captured from the third run on";
  }
  EXPECT_GT(graph.graph_kernels(), 0);
  EXPECT_GT(graph.planned_bytes(), 0u);
#if CUSEG_CUDA_EMULATED
  const int64_t launches = emu::launch_count(cuda::stream(0)), allocations = emu::device_allocations(),
                waits = emu::host_waits();
  graph.run([&] { unit(x); });
  graph.run([&] { unit(x); });
  EXPECT_EQ(emu::launch_count(cuda::stream(0)) - launches, 2) << "one graph launch per run";
  EXPECT_EQ(emu::device_allocations() - allocations, 0);
  EXPECT_EQ(emu::host_waits() - waits, 0);
  // The counters see the same unit run eagerly (so the zeros above can fail).
  unit(x);
  EXPECT_EQ(emu::launch_count(cuda::stream(0)) - launches, 2 + 4);
  EXPECT_EQ(emu::device_allocations() - allocations, 3);
#endif
}

TEST(StepGraphGpu, RefusesAUnitThatChangesOrWaits) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  Tensor x = Tensor::zeros(Shape{8}, DType::F32, gpu);
  int64_t n = 8;
  cuda::StepGraph growing(gpu);
  const auto grow = [&] {
    Tensor t = Tensor::zeros(Shape{n}, DType::F32, gpu);
    n += 8;
  };
  growing.run(grow);
  growing.run(grow);
  test::expect_error([&] { growing.run(grow); }, {"must repeat exactly", "asks for 96 bytes"});

  cuda::StepGraph reading(gpu);
  const auto read = [&] { (void)x.to(Device::cpu()); };
  reading.run(read);
  reading.run(read);
  test::expect_error([&] { reading.run(read); }, {"cudaMemcpyAsync"});
  // The device is fine afterwards.
  unit(x);
  EXPECT_EQ(x.to(Device::cpu()).to_vector<float>()[0], 2.f);
}

// Labels outside the classes: the eager op throws; under DeviceChecks it queues its count on the
// device, and raise_if_any throws the same message with the count summed over the calls.
TEST(DeviceChecksGpu, ALabelCheckIsDeferredWithTheSameMessage) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const Tensor logits = Tensor::zeros(Shape{1, 2, 2, 3}, DType::F32, gpu);
  const Tensor labels = Tensor::from_vector(std::vector<uint8_t>{0, 7, 1, 9}, Shape{1, 2, 2}).to(gpu);
  Tensor loss = Tensor::zeros(Shape{1}, DType::F32, gpu), weight_sum = Tensor::zeros(Shape{1}, DType::F32, gpu);
  std::string eager;
  try {
    softmax_cross_entropy_forward(logits, labels, Tensor(), loss, weight_sum, {});
  } catch (const Error& e) {
    eager = e.what();
  }
  ASSERT_NE(eager.find(": 2 label(s) outside [0, 3)"), std::string::npos) << eager;

  DeviceChecks checks(gpu);
  checks.raise_if_any();  // nothing yet
  {
    DeviceChecks::Scope scope(checks);
    softmax_cross_entropy_forward(logits, labels, Tensor(), loss, weight_sum, {});
    softmax_cross_entropy_forward(logits, labels, Tensor(), loss, weight_sum, {});
  }
  std::string deferred;
  try {
    checks.raise_if_any();
  } catch (const Error& e) {
    deferred = e.what();
  }
  std::string twice = eager;
  twice.replace(twice.find(": 2 label"), 9, ": 4 label");
  EXPECT_EQ(deferred, twice);
}

}  // namespace
}  // namespace cuseg
