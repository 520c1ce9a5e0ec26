// GPU ranks whose gradients NCCL sums on the GPUs (dist/nccl_communicator.h), against one process
// and against exact sums. In the emulated CUDA build NCCL is cuseg/emu's and each rank gets an
// emulated GPU of its own (CUSEG_EMU_DEVICES=2): what runs is cuseg's side (the id broadcast over
// MPI, the buckets, the streams and events of the overlap, the timeout), not NCCL's transport. On
// a real machine the two-rank tests need two GPUs; the one-rank test runs NCCL on one.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "cuseg/core/device.h"
#include "data_parallel_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;
using dp::kNet;

// Why two NCCL ranks cannot run here, or empty (after CUSEG_REQUIRE_GPU).
std::string missing_nccl_ranks() {
  if (!CUSEG_HAS_NCCL) return "built without NCCL (CUSEG_NCCL: it needs CUDA and MPI)";
  if (const std::string why = dp::missing_mpi(); !why.empty()) return why;
  if (!CUSEG_CUDA_EMULATED && cuda_device_count() < 2) return "two NCCL ranks need two GPUs";
  return "";
}

// The probe: the build's, or $CUSEG_GRADIENT_SUM_PROBE (a build copied elsewhere, gpu_check.sh).
std::string probe() {
  const char* env = std::getenv("CUSEG_GRADIENT_SUM_PROBE");
  return env && *env ? env : CUSEG_GRADIENT_SUM_PROBE;
}

// Two emulated GPUs for the ranks (a real machine has its own), small buckets so that a small
// network's gradients fill several.
const std::string kTwoGpus = "CUSEG_EMU_DEVICES=2 CUSEG_GRADIENT_BUCKET_KB=64 ";

class NcclGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    CUSEG_REQUIRE_GPU();
    if (const std::string why = missing_nccl_ranks(); !why.empty()) GTEST_SKIP() << why;
    dir_ = test::fresh_test_dir("cuseg_nccl");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // The probe on 2 ranks, each on its (emulated) GPU, with small buckets: "nccl", "mpi", "nccl hang".
  ToolRun probe_on_two_gpus(const std::string& args) const {
    return run(dir_, str_cat(kTwoGpus, dp::mpirun_np(2), probe(), " ", args));
  }
  fs::path dir_;
};

TEST_F(NcclGpu, SumsAreExactInSeveralBucketsWhateverOrderTheGradientsAreReady) {
  const ToolRun r = probe_on_two_gpus("nccl");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("NCCL"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("on the GPUs in 8 bucket(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sums exact"), std::string::npos) << r.output;
}

// Every rank must cut the same buckets: rank 0's CUSEG_GRADIENT_BUCKET_KB holds for all, whatever
// the others' environment says (MPMD: rank 1 asks for other buckets).
TEST_F(NcclGpu, EveryRankCutsRankZerosBuckets) {
  const ToolRun r = run(dir_, str_cat("CUSEG_EMU_DEVICES=2 ", dp::kMpirun, "-np 1 env CUSEG_GRADIENT_BUCKET_KB=64 ",
                                      probe(), " nccl : -np 1 env CUSEG_GRADIENT_BUCKET_KB=4096 ", probe(), " nccl"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("on the GPUs in 8 bucket(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sums exact"), std::string::npos) << r.output;
}

// The sum through the host is the reference the NCCL one replaces: the same probe must pass on it.
TEST_F(NcclGpu, TheProbeAlsoHoldsForTheSumThroughTheHost) {
  const ToolRun r = probe_on_two_gpus("mpi");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("summed through the host"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sums exact"), std::string::npos) << r.output;
}

TEST_F(NcclGpu, ARankThatNeverJoinsTheSumEndsTheJobWithinTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  const ToolRun r = probe_on_two_gpus("nccl hang");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(
                "rank 0 of 2: the probe's sum did not complete in 3 s: another rank died or hangs"),
            std::string::npos)
      << r.output;
  EXPECT_LT(seconds, 50) << "the job took " << seconds << " s to end";
}

// Two ranks, each on its GPU, with synchronized batch norm: the steps of one process on the whole
// batch (the bound of the data-parallel tests), running statistics and optimizer state included.
TEST_F(NcclGpu, TwoRanksOnTheirOwnGpusTrainLikeOneProcess) {
  const std::string net = str_cat(kNet, dp::kSyncBn, " --stop-after-steps 2");
  const ToolRun one = run(dir_, str_cat(net, " --device cuda:0 --out one"));
  ASSERT_EQ(one.code, 0) << one.output;
  const ToolRun two =
      run(dir_, str_cat(kTwoGpus, dp::mpirun_np(2), net, " --device cuda --out two"));
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_NE(two.output.find("data parallel: NCCL"), std::string::npos) << two.output;
  EXPECT_NE(two.output.find("overlapped with the backward"), std::string::npos) << two.output;
  dp::expect_same_state(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors",
                        dp::kSameSteps);
}

// NCCL refuses two ranks on one GPU; asked for, that is a one-line error before any step, and
// auto sums through the host instead.
TEST_F(NcclGpu, RanksSharingAGpuAreRefusedOrSumThroughTheHost) {
  const std::string net = str_cat("CUSEG_EMU_DEVICES=1 ", dp::mpirun_np(2), kNet,
                                  " --device cuda:0 --stop-after-steps 1");
  const ToolRun nccl = run(dir_, str_cat(net, " --collectives nccl --out nccl"));
  EXPECT_NE(nccl.code, 0);
  EXPECT_NE(
      nccl.output.find("--collectives nccl: ranks 0 and 1 share a GPU: NCCL needs a GPU per rank"),
      std::string::npos)
      << nccl.output;
  EXPECT_FALSE(fs::exists(dir_ / "nccl/last.safetensors"));
  const ToolRun auto_ = run(dir_, str_cat(net, " --out auto"));
  EXPECT_EQ(auto_.code, 0) << auto_.output;
  EXPECT_NE(auto_.output.find("gradients summed through the host"), std::string::npos)
      << auto_.output;
}

// One process with --collectives nccl: NCCL's sum over one rank is the identity, so the run is the
// plain one's; on a machine with one GPU this is the check that NCCL runs at all.
TEST(NcclOneRankGpu, OneNcclRankTrainsLikeThePlainProcess) {
  CUSEG_REQUIRE_GPU();
  if (!CUSEG_HAS_NCCL) GTEST_SKIP() << "built without NCCL";
  const fs::path dir = test::fresh_test_dir("cuseg_nccl1");
  const std::string net = str_cat(kNet, dp::kSyncBn, " --device cuda:0 --stop-after-steps 2");
  const ToolRun plain = run(dir, net + " --out plain");
  ASSERT_EQ(plain.code, 0) << plain.output;
  const ToolRun nccl = run(dir, net + " --collectives nccl --out nccl");
  ASSERT_EQ(nccl.code, 0) << nccl.output;
  EXPECT_NE(nccl.output.find("data parallel: NCCL"), std::string::npos) << nccl.output;
  dp::expect_same_state(dir / "nccl/last.safetensors", dir / "plain/last.safetensors", 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cuseg
