// --cuda-graph (train/trainer_graph.cpp) on tiny U-Nets: replayed steps train bit for bit as the
// eager steps do (a short last batch included: a second graph), a steady step is one graph launch
// with no allocation and no wait for the device, a diverging run stops or skips as the eager one,
// and what a replayed step cannot do is refused up front.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "cuseg/config.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/train/trainer.h"
#include "error_matchers.h"
#include "run_compare.h"
#include "test_util.h"
#if CUSEG_CUDA_EMULATED
#include "cuseg/core/cuda/runtime.h"
#include "cuseg/emu/launch.h"
#endif

namespace cuseg {
namespace {

namespace fs = std::filesystem;

class CudaGraphTrainingGpu : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_test_dir("cuseg_cuda_graph"); }
  void TearDown() override { fs::remove_all(dir_); }

  // 26 images in batches of 4: six full batches and a short one of 2, each its own shape.
  TrainConfig tiny(const std::string& run, bool graph) const {
    TrainConfig c;
    c.device = "cuda";
    c.synthetic_train = 26;
    c.synthetic_val = 4;
    c.height = c.width = 16;
    c.base = 4;
    c.depth = 3;
    c.batch = 4;
    c.epochs = 3;  // the short batch: eager, recorded, then captured in the third epoch
    c.augment = true;
    c.seed = 7;
    c.quiet = true;
    c.progress = false;
    c.cuda_graph = graph;
    c.out = (dir_ / run).string();
    return c;
  }
  fs::path dir_;
};

TEST_F(CudaGraphTrainingGpu, ReplayedStepsTrainBitForBitAsEagerSteps) {
  CUSEG_REQUIRE_GPU();
  const TrainConfig eager = tiny("eager", false), graph = tiny("graph", true);
  const TrainResult a = Trainer(eager).run();
  const TrainResult b = Trainer(graph).run();
  ASSERT_EQ(a.status, TrainStatus::Finished) << a.message;
  ASSERT_EQ(b.status, TrainStatus::Finished) << b.message;
  test::expect_same_tensors((fs::path(eager.out) / "last.safetensors").string(),
                            (fs::path(graph.out) / "last.safetensors").string());
  // The logs (train loss, val metrics, learning rate) too; config.json says which ran.
  const auto la = test::log_without_time(eager.out), lb = test::log_without_time(graph.out);
  ASSERT_EQ(la.size(), 3u);
  ASSERT_EQ(lb.size(), 3u);
  for (size_t e = 0; e < la.size(); ++e) EXPECT_EQ(la[e], lb[e]) << "epoch " << e + 1;
}

#if CUSEG_CUDA_EMULATED
// Launches, device allocations and waits of this thread over a run of `steps` steps.
struct Counts {
  int64_t launches, allocations, waits;
};
Counts counts_of_run(TrainConfig c, int64_t steps) {
  c.stop_after_steps = steps;
  const int64_t l = emu::launch_count(cuda::stream(0)), a = emu::device_allocations(), w = emu::host_waits();
  const TrainResult r = Trainer(c).run();
  EXPECT_EQ(r.status, TrainStatus::Interrupted) << r.message;
  return {emu::launch_count(cuda::stream(0)) - l, emu::device_allocations() - a, emu::host_waits() - w};
}

// Runs of 5 and 9 steps differ by 4 steady steps and nothing else (set-up, the stop's read and
// checkpoint are the same): the difference is what 4 steady steps cost.
TEST_F(CudaGraphTrainingGpu, ASteadyStepIsOneGraphLaunchWithNoAllocationAndNoWait) {
  CUSEG_REQUIRE_GPU();
  for (bool graph : {true, false}) {
    TrainConfig c = tiny(graph ? "graph" : "eager", graph);
    c.synthetic_train = 48;  // 12 steps an epoch: both runs stop inside the first
    const Counts five = counts_of_run(c, 5), nine = counts_of_run(c, 9);
    const int64_t launches = nine.launches - five.launches, allocations = nine.allocations - five.allocations,
                  waits = nine.waits - five.waits;
    if (graph) {
      EXPECT_EQ(launches, 4) << "one graph launch a step";
      EXPECT_EQ(allocations, 0);
      EXPECT_EQ(waits, 0);
    } else {  // the counters see an eager step's work, so the zeros above can fail
      EXPECT_GT(launches, 4 * 50);
      EXPECT_GT(allocations, 4 * 20);
      EXPECT_GE(waits, 4);
    }
  }
}
#endif

TEST_F(CudaGraphTrainingGpu, ADivergingRunStopsOrSkipsAsTheEagerOne) {
  CUSEG_REQUIRE_GPU();
  TrainConfig c = tiny("diverge", true);
  c.optimizer = "sgd";
  c.schedule = "constant";
  c.lr = 1e30;
  c.epochs = 1;
  const TrainResult r = Trainer(c).run();
  ASSERT_EQ(r.status, TrainStatus::NonFinite) << r.message;
  EXPECT_NE(r.message.find("at epoch 1, batch "), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("not named under --cuda-graph"), std::string::npos) << r.message;

  // Skipping: the same steps as the eager run skips, and the skipped updates never reach the
  // weights (the device skipped them, unread). Batch norm's running statistics do go non-finite,
  // as in the eager run and in PyTorch: the forward updates them before the loss is known.
  c.skip_nonfinite = true;
  TrainConfig eager = c;
  eager.cuda_graph = false;
  eager.out = (dir_ / "skip_eager").string();
  c.out = (dir_ / "skip").string();
  const TrainResult s = Trainer(c).run(), e = Trainer(eager).run();
  ASSERT_EQ(s.status, TrainStatus::Finished) << s.message;
  ASSERT_EQ(e.status, TrainStatus::Finished) << e.message;
  EXPECT_GT(s.epochs[0].skipped_steps, 0);
  EXPECT_EQ(s.epochs[0].skipped_steps, e.epochs[0].skipped_steps);
  for (const auto& [name, t] : load_safetensors((fs::path(c.out) / "last.safetensors").string()).tensors) {
    if (t.dtype() != DType::F32 || name.find("running_") != std::string::npos) continue;
    for (float v : t.to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << name;
  }
}

TEST_F(CudaGraphTrainingGpu, RefusesWhatAReplayedStepCannotDo) {
  CUSEG_REQUIRE_GPU();
  TrainConfig c = tiny("dropout", true);
  c.dropout = 0.2;
  test::expect_error([&] { Trainer t(c); }, {"--cuda-graph", "dropout layer", "counter on the host"});
  c = tiny("accumulate", true);
  c.accumulate = 2;
  test::expect_error([&] { Trainer t(c); }, {"--cuda-graph needs --accumulate 1"});
  c = tiny("cpu", true);
  c.device = "cpu";
  test::expect_error([&] { Trainer t(c); }, {"--cuda-graph needs a GPU", "cpu"});
}

}  // namespace
}  // namespace cuseg
