// Data-parallel training under mpirun against one process on the whole batch: the weights and
// optimizer state after some steps, sharded validation, resuming on a different number of ranks,
// ranks that disagree, and a rank that hangs or dies. Each test runs seg_train (or
// evaluate_probe) through `mpirun -np 2` on the built-in synthetic set; they are skipped in a
// build without MPI or where mpirun is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tool_run.h"
#include "cuseg/config.h"
#include "cuseg/core/device.h"
#include "cuseg/core/safetensors.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

// unet-s at base 8, depth 3, on 32×32 synthetic images, without batch norm unless a test adds
// --bn 1 (a later flag wins). Cross-entropy: the mean over the batch's pixels, which the mean of
// the ranks' means equals (Dice over each rank's part would not equal Dice over the batch).
constexpr const char* kNet =
    "seg_train --base 8 --depth 3 --size 32 --bn 0 --loss ce --batch 8 --epochs 1 --synthetic-train 48 "
    "--synthetic-val 13 --no-progress --tensorboard none --seed 3";
const std::string kRun = str_cat(kNet, " --device cpu");

// Why these tests cannot run here, or empty.
std::string missing_mpi() {
  if (!CUSEG_HAS_MPI) return "built without MPI (CUSEG_MPI; Debian: libopenmpi-dev)";
  if (run(".", "command -v " CUSEG_MPIEXEC).code != 0) return CUSEG_MPIEXEC " not found";
  return "";
}

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = missing_mpi(); !why.empty()) GTEST_SKIP() << why;
    dir_ = test::fresh_test_dir("cuseg_dp");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // `command` on `ranks` ranks (2 cores here: --oversubscribe lets ranks share them).
  ToolRun mpirun(int ranks, const std::string& command) const {
    return run(dir_, str_cat(CUSEG_MPIEXEC, " --allow-run-as-root --oversubscribe -np ", ranks, " ", command));
  }

  // kRun + `args` for 5 steps in one process (into one/) and on 2 ranks (into two/, with
  // `two_args` too); `two` gets the 2-rank run's output.
  void five_steps_on_one_and_two(const std::string& args, const std::string& two_args, std::string& two) const {
    const ToolRun a = run(dir_, str_cat(kRun, args, " --stop-after-steps 5 --out one"));
    ASSERT_EQ(a.code, 0) << a.output;
    const ToolRun b = mpirun(2, str_cat(kRun, args, two_args, " --stop-after-steps 5 --out two"));
    ASSERT_EQ(b.code, 0) << b.output;
    two = b.output;
  }

  fs::path dir_;
};

// The largest difference between two checkpoints' tensors whose names contain `part`, relative
// to the reference tensor's largest magnitude.
double worst_difference(const fs::path& got, const fs::path& ref, const std::string& part) {
  const SafetensorsFile a = load_safetensors(got.string()), b = load_safetensors(ref.string());
  double worst = 0;
  for (const auto& [name, t] : b.tensors) {
    if (name.find(part) == std::string::npos || t.dtype() != DType::f32) continue;
    const std::vector<float> x = a.tensors.at(name).to_vector<float>(), y = t.to_vector<float>();
    double diff = 0, size = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      diff = std::max(diff, double(std::fabs(x[i] - y[i])));
      size = std::max(size, double(std::fabs(y[i])));
    }
    worst = std::max(worst, diff / size);
  }
  return worst;
}

// Every tensor of two checkpoints: weights, optimizer state, batch-norm running statistics, the
// step counter.
void expect_same_state(const fs::path& got, const fs::path& ref, double tolerance) {
  const SafetensorsFile a = load_safetensors(got.string()), b = load_safetensors(ref.string());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : b.tensors) {
    ASSERT_TRUE(a.tensors.count(name)) << name;
    if (t.dtype() == DType::f32) EXPECT_TRUE(test::close(a.tensors.at(name), t, tolerance, name, 0));
    else EXPECT_TRUE(test::identical(a.tensors.at(name), t, name, 0));
  }
  const auto steps = [](const SafetensorsFile& f) { return nlohmann::json::parse(f.metadata.at("train_state"))["steps"]; };
  EXPECT_EQ(steps(a), steps(b));
}

// The bound: each rank sums its half of the batch's gradients, and the two halves are added
// (one process sums all in another order); Adam's normalization passes on the relative rounding
// of those sums, about 1e-7, and five steps let it grow to ~1e-6.
constexpr double kSameSteps = 1e-5;

// With dropout at the bottleneck: each rank draws its part of the whole batch's mask.
TEST_F(DataParallel, TwoRanksTakeTheStepsOfOneProcessOnTheGlobalBatch) {
  std::string two;
  ASSERT_NO_FATAL_FAILURE(five_steps_on_one_and_two(" --dropout 0.3", "", two));
  EXPECT_NE(two.find("data parallel: MPI"), std::string::npos) << two;
  EXPECT_NE(two.find("4 images per rank and batch"), std::string::npos) << two;
  expect_same_state(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", kSameSteps);
}

// Synchronized batch norm (the default with several ranks): the statistics of the global batch,
// so the same steps and the same running statistics as one process. With momentum SGD: each
// rank's variance comes back from its invstd in float32 (as in PyTorch's SyncBatchNorm), a
// rounding of ~1e-7 that Adam's division by √v would magnify where a gradient is near zero
// (2e-5 of the largest weight after 5 steps, measured; 5e-7 with SGD).
constexpr const char* kSyncBn = " --bn 1 --optimizer momentum --lr 0.05";

TEST_F(DataParallel, SynchronizedBatchNormTrainsLikeOneProcessOnTheGlobalBatch) {
  std::string two;
  ASSERT_NO_FATAL_FAILURE(five_steps_on_one_and_two(kSyncBn, "", two));
  EXPECT_NE(two.find("batch norm synchronized"), std::string::npos) << two;
  expect_same_state(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", kSameSteps);
}

// With --sync-bn 0 each rank normalizes its half: other statistics, other gradients (PyTorch
// DDP without SyncBatchNorm); the running statistics saved are rank 0's own.
TEST_F(DataParallel, WithoutSynchronizationEachRankNormalizesItsOwnPart) {
  std::string two;
  ASSERT_NO_FATAL_FAILURE(five_steps_on_one_and_two(kSyncBn, " --sync-bn 0", two));
  EXPECT_NE(two.find("batch norm per rank"), std::string::npos) << two;
  EXPECT_GT(worst_difference(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", "running_var"), 1e-3);
  EXPECT_GT(worst_difference(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", "weight"), 1e-4);
}

TEST_F(DataParallel, ShardedValidationGivesTheMetricsOfTheWholeSplit) {
  // 13 validation images in batches of 8: the last batch of 5 splits 2 + 3.
  const ToolRun trained = run(dir_, str_cat(kRun, " --stop-after-steps 4 --out run"));
  ASSERT_EQ(trained.code, 0) << trained.output;
  fs::copy(dir_ / "run", dir_ / "run2", fs::copy_options::recursive);
  const ToolRun one = run(dir_, str_cat(CUSEG_EVALUATE_PROBE, " run"));
  const ToolRun two = mpirun(2, str_cat(CUSEG_EVALUATE_PROBE, " run2"));
  ASSERT_EQ(one.code, 0) << one.output;
  ASSERT_EQ(two.code, 0) << two.output;
  const nlohmann::json a = nlohmann::json::parse(one.output), b = nlohmann::json::parse(two.output);
  EXPECT_EQ(b["metrics"], a["metrics"]);  // the confusion matrix's counts summed exactly
  EXPECT_GT(a["metrics"]["pixels"].get<double>(), 13 * 32 * 32 - 1);
  EXPECT_NEAR(b["loss"].get<double>(), a["loss"].get<double>(), 1e-6 * a["loss"].get<double>());
}

TEST_F(DataParallel, ARunResumesOnADifferentNumberOfRanks) {
  const ToolRun straight = run(dir_, str_cat(kRun, " --stop-after-steps 5 --out straight"));
  ASSERT_EQ(straight.code, 0) << straight.output;
  const ToolRun first = mpirun(2, str_cat(kRun, " --stop-after-steps 3 --out resumed"));
  ASSERT_EQ(first.code, 0) << first.output;
  const ToolRun rest = run(dir_, str_cat(kRun, " --stop-after-steps 2 --out resumed --resume"));
  ASSERT_EQ(rest.code, 0) << rest.output;
  expect_same_state(dir_ / "resumed/last.safetensors", dir_ / "straight/last.safetensors", kSameSteps);
}

TEST_F(DataParallel, RanksThatDisagreeFailBeforeTheFirstStep) {
  const ToolRun odd = mpirun(2, str_cat(kRun, " --batch 7 --out odd"));
  EXPECT_NE(odd.code, 0);
  EXPECT_NE(odd.output.find("--batch 7 does not split evenly over 2 ranks"), std::string::npos) << odd.output;
  // MPMD: rank 1 gets another learning rate.
  const ToolRun differ = run(dir_, str_cat(CUSEG_MPIEXEC, " --allow-run-as-root --oversubscribe -np 1 ", kRun,
                                           " --lr 0.01 --out differ : -np 1 ", kRun, " --lr 0.02 --out differ"));
  EXPECT_NE(differ.code, 0);
  EXPECT_NE(differ.output.find("rank 1's training configuration differs from rank 0's"), std::string::npos)
      << differ.output;
  EXPECT_FALSE(fs::exists(dir_ / "differ/last.safetensors"));
  const ToolRun no_bn = mpirun(2, str_cat(kRun, " --sync-bn 1 --out no_bn"));
  EXPECT_EQ(no_bn.code, 2);
  EXPECT_NE(no_bn.output.find("--sync-bn 1: the network has no batch norm (--bn 0)"), std::string::npos)
      << no_bn.output;
}

// Rank 1 is a shell that starts seg_train and then stops (or kills) it: the other rank must end
// the job itself, well within the test's patience. The stopped process is killed afterwards; its
// output goes to a file, so that it holds no pipe of this test open.
ToolRun run_with_rank1(const fs::path& dir, const char* signal, const std::string& run_args) {
  const auto start = std::chrono::steady_clock::now();
  const std::string rank1 = str_cat(kRun, " ", run_args, " > rank1.log 2>&1 & echo $! > rank1.pid; sleep 3; kill -",
                                    signal, " $(cat rank1.pid); wait");
  ToolRun r = run(dir, str_cat(CUSEG_MPIEXEC, " --allow-run-as-root --oversubscribe -np 1 ", kRun, " ", run_args,
                               " : -np 1 sh -c '", rank1, "'"));
  run(dir, "kill -9 $(cat rank1.pid) 2>/dev/null");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 60) << "the job took " << seconds << " s to end";
  return r;
}

TEST_F(DataParallel, AHungRankEndsTheJobWithinTheCollectiveTimeout) {
  const ToolRun r = run_with_rank1(dir_, "STOP", "--epochs 100000 --collective-timeout 5 --out hung");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("rank 0 of 2: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did not complete in 5 s: another rank died or hangs"), std::string::npos) << r.output;
}

TEST_F(DataParallel, AKilledRankEndsTheJob) {
  const ToolRun r = run_with_rank1(dir_, "KILL", "--epochs 100000 --collective-timeout 5 --out killed");
  EXPECT_NE(r.code, 0) << r.output;
}

// The same on the (emulated) GPU: each rank's model and batch norm on its GPU, the sums staged
// through the host.
TEST(DataParallelGpu, TwoGpuRanksWithSynchronizedBatchNormTrainLikeOneProcess) {
  CUSEG_REQUIRE_GPU();
  if (const std::string why = missing_mpi(); !why.empty()) GTEST_SKIP() << why;
  const fs::path dir = test::fresh_test_dir("cuseg_dp_gpu");
  const std::string mpirun = str_cat(CUSEG_MPIEXEC, " --allow-run-as-root --oversubscribe -np 2 ");
  // --device cuda gives each rank of a machine its own GPU: more ranks than GPUs is an error.
  if (cuda_device_count() == 1) {
    const ToolRun too_many = run(dir, str_cat(mpirun, kNet, " --device cuda --out too_many"));
    EXPECT_NE(too_many.code, 0);
    EXPECT_NE(too_many.output.find("2 ranks on this machine but 1 GPU(s): one GPU per rank"), std::string::npos)
        << too_many.output;
  }
  // Both ranks on GPU 0 (named: then ranks may share a GPU).
  const std::string net = str_cat(kNet, kSyncBn, " --device cuda:0 --stop-after-steps 2");
  const ToolRun one = run(dir, net + " --out one");
  ASSERT_EQ(one.code, 0) << one.output;
  const ToolRun two = run(dir, str_cat(mpirun, net, " --out two"));
  ASSERT_EQ(two.code, 0) << two.output;
  expect_same_state(dir / "two/last.safetensors", dir / "one/last.safetensors", kSameSteps);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cuseg
