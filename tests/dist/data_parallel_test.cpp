// Data-parallel training under mpirun against one process on the whole batch: the weights and
// optimizer state after some steps, sharded validation, resuming on a different number of ranks,
// ranks that disagree (on the configuration or the dataset), a rank that hangs or dies (the
// writer too, mid-checkpoint), and SIGTERM or SIGINT to the job. Each test runs seg_train (or
// evaluate_probe) through `mpirun -np 2`, mostly on the built-in synthetic set; they are skipped in
// a build without MPI or where mpirun is missing.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "cuseg/core/device.h"
#include "cuseg/data/image_io.h"
#include "data_parallel_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;
using dp::expect_same_state;
using dp::kNet;
using dp::kSameSteps;
using dp::kSyncBn;
using dp::missing_mpi;

const std::string kRun = str_cat(kNet, " --device cpu");

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
    return run(dir_, dp::mpirun_np(ranks) + command);
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

  // kRun + `args` with momentum SGD: 5 steps on 2 ranks take 1 process's steps, and the loss
  // values (their sum over the epoch's steps so far) are the global batch's too.
  void expect_the_global_batchs_losses(const std::string& args) const {
    std::string two;
    ASSERT_NO_FATAL_FAILURE(five_steps_on_one_and_two(args + " --optimizer momentum --lr 0.05", "", two));
    expect_same_state(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", kSameSteps);
    const auto loss_sum = [](const fs::path& f) {
      return nlohmann::json::parse(load_safetensors(f.string()).metadata.at("train_state"))["epoch_loss_sum"]
          .get<double>();
    };
    const double one = loss_sum(dir_ / "one/last.safetensors");
    EXPECT_GT(one, 0);
    EXPECT_NEAR(loss_sum(dir_ / "two/last.safetensors"), one, 1e-5 * one);
  }

  fs::path dir_;
};

// The largest difference between two checkpoints' tensors whose names contain `part`, relative
// to the reference tensor's largest magnitude.
double worst_difference(const fs::path& got, const fs::path& ref, const std::string& part) {
  const SafetensorsFile a = load_safetensors(got.string()), b = load_safetensors(ref.string());
  double worst = 0;
  for (const auto& [name, t] : b.tensors) {
    if (name.find(part) == std::string::npos || t.dtype() != DType::F32) continue;
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

// With dropout at the bottleneck: each rank draws its part of the whole batch's mask.
TEST_F(DataParallel, TwoRanksTakeTheStepsOfOneProcessOnTheGlobalBatch) {
  std::string two;
  ASSERT_NO_FATAL_FAILURE(five_steps_on_one_and_two(" --dropout 0.3", "", two));
  EXPECT_NE(two.find("data parallel: MPI"), std::string::npos) << two;
  EXPECT_NE(two.find("4 images per rank and batch"), std::string::npos) << two;
  expect_same_state(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", kSameSteps);
}

// config.json and every log.jsonl line list where each rank ran: its device and the line that
// says what computed there (each rank's own, e.g. its share of the cores).
TEST_F(DataParallel, ConfigAndLogListEveryRank) {
  const ToolRun r = mpirun(2, str_cat(kRun, " --out where"));
  ASSERT_EQ(r.code, 0) << r.output;
  const nlohmann::json config = nlohmann::json::parse(test::read_file(dir_ / "where/config.json"));
  const nlohmann::json& world = config["world"];
  EXPECT_EQ(world["size"], 2) << world;
  ASSERT_EQ(world["ranks"].size(), 2u) << world;
  for (int rank = 0; rank < 2; ++rank) {
    const nlohmann::json& on = world["ranks"][rank];
    EXPECT_EQ(on["rank"], rank) << world;
    EXPECT_EQ(on["device"], "cpu") << world;
    EXPECT_FALSE(on["host"].get<std::string>().empty()) << world;
    EXPECT_EQ(on["compute"].get<std::string>().rfind("cpu: ", 0), 0u) << world;
  }
  const std::vector<nlohmann::json> log = log_of(dir_ / "where");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["world"], world);
}

// Synchronized batch norm (the default with several ranks): the statistics of the global batch,
// so the same steps and the same running statistics as one process (kSyncBn says why with SGD).

TEST_F(DataParallel, SynchronizedBatchNormTrainsLikeOneProcessOnTheGlobalBatch) {
  std::string two;
  ASSERT_NO_FATAL_FAILURE(five_steps_on_one_and_two(kSyncBn, "", two));
  EXPECT_NE(two.find("batch norm synchronized"), std::string::npos) << two;
  expect_same_state(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", kSameSteps);
}

// A model zoo network: synchronized batch norm through an SMP encoder and decoder, scSE's global
// pooling on each rank's part, the same steps as one process. (ResNet: MobileNetV2's projections
// feed batch norms whose shifts have gradients zero but for roundoff, which differs with the
// order of any sum; see tests/layers/smp_parity_test.cpp.)
TEST_F(DataParallel, AModelZooNetworkTrainsOnTwoRanksAsOneProcess) {
  std::string two;
  ASSERT_NO_FATAL_FAILURE(five_steps_on_one_and_two(
      str_cat(kSyncBn, " --model unet --encoder resnet18 --encoder-depth 3 --decoder-channels 32,16,16",
              " --decoder-attention scse"),
      "", two));
  EXPECT_NE(two.find("batch norm synchronized"), std::string::npos) << two;
  // 1e-4: sSE's one bias has for gradient a sum over every pixel of terms that mostly cancel
  // (after five steps it is 1e-4 and the two orders of the sum differ by 2e-9).
  expect_same_state(dir_ / "two/last.safetensors", dir_ / "one/last.safetensors", 1e-4);
}

// The default loss, ce+dice, with class weights and the background ignored: each rank's half has
// its own weight sum of counted pixels, so the mean of the ranks' cross-entropies is not the
// batch's, nor is the mean of their Dice scores; the losses synchronized over the ranks
// (Loss::synchronize: the global weight sum, the global Dice sums) make the steps one process's.
TEST_F(DataParallel, CrossEntropyWithIgnoredPixelsAndDiceAreThoseOfTheGlobalBatch) {
  expect_the_global_batchs_losses(" --loss ce+dice --ignore-index 0 --class-weights 1,2,0.5,3");
}

// The same for focal and for label smoothing (both normalized by the weight sum), over steps that
// accumulate two batches each (each batch's loss synchronized).
TEST_F(DataParallel, FocalAndLabelSmoothingOverAccumulatedBatchesAreThoseOfTheGlobalBatch) {
  expect_the_global_batchs_losses(
      " --loss focal+ce --label-smoothing 0.1 --ignore-index 0 --class-weights 1,2,0.5,3 --accumulate 2 --epochs 2");
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
  const ToolRun differ = run(dir_, str_cat(dp::kMpirun, "-np 1 ", kRun,
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

// A dataset folder in seg_train's layout: training images named `train` and one validation image,
// 32×32, a white square on black and its mask.
void write_dataset(const fs::path& root, const std::vector<std::string>& train) {
  Tensor image = Tensor::zeros(Shape{32, 32, 3}, DType::U8), mask = Tensor::zeros(Shape{32, 32}, DType::U8);
  for (int y = 8; y < 24; ++y)
    for (int x = 8; x < 24; ++x) {
      mask.data<uint8_t>()[y * 32 + x] = 1;
      for (int c = 0; c < 3; ++c) image.data<uint8_t>()[(y * 32 + x) * 3 + c] = 255;
    }
  for (const auto& [split, names] : {std::pair{"train", train}, std::pair{"val", std::vector<std::string>{"v"}}}) {
    fs::create_directories(root / split / "images");
    fs::create_directories(root / split / "masks");
    for (const std::string& name : names) {
      write_png((root / split / "images" / (name + ".png")).string(), image);
      write_png((root / split / "masks" / (name + ".png")).string(), mask);
    }
  }
  test::write_file(root / "classes.txt", "background\nsquare\n");
}

// Ranks started with the same --data path see the same files, and different paths fail the
// configuration check first. So: MPMD, each rank in a folder of its own (-wdir) with the same
// relative --data and --out, where the two datasets have as many images but one name differs.
TEST_F(DataParallel, RanksThatSeeDifferentDatasetsFailBeforeTheFirstStep) {
  write_dataset(dir_ / "a/data", {"0", "1", "2", "3", "4", "5", "6", "7"});
  write_dataset(dir_ / "b/data", {"0", "1", "2", "3", "4", "5", "6", "7b"});
  const std::string net = str_cat(kRun, " --data data --out run");
  const ToolRun r =
      run(dir_, str_cat(dp::kMpirun, "-np 1 -wdir '", (dir_ / "a").string(),
                        "' ", net, " : -np 1 -wdir '", (dir_ / "b").string(), "' ", net));
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("rank 1's dataset differs from rank 0's: every rank must train the same"), std::string::npos)
      << r.output;
  // Rank 0 creates --out before the check, but writes nothing into it until the ranks agree.
  EXPECT_FALSE(fs::exists(dir_ / "a/run/config.json"));
  EXPECT_FALSE(fs::exists(dir_ / "a/run/last.safetensors"));
  EXPECT_FALSE(fs::exists(dir_ / "b/run"));
}

// One rank is a shell that starts seg_train (kRun + `run_args`) in the background and then runs
// `then` on it ($pid): the other rank must end the job itself, well within the test's patience.
// The shell's seg_train is killed afterwards; its output goes to a file, so that it holds no pipe
// of this test open.
ToolRun run_with_shell_rank(const fs::path& dir, int rank, const std::string& run_args, const std::string& then) {
  const auto start = std::chrono::steady_clock::now();
  const std::string name = str_cat("rank", rank);
  const std::string shell = str_cat("-np 1 sh -c '", kRun, " ", run_args, " > ", name,
                                    ".log 2>&1 & pid=$!; echo $pid > ", name, ".pid; ", then, "'");
  const std::string plain = str_cat("-np 1 ", kRun, " ", run_args);
  ToolRun r = run(dir, str_cat(dp::kMpirun, rank == 0 ? shell : plain, " : ",
                               rank == 0 ? plain : shell));
  run(dir, str_cat("kill -9 $(cat ", name, ".pid) 2>/dev/null"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 60) << "the job took " << seconds << " s to end";
  return r;
}

// Rank 1 is stopped (or killed) after 3 s.
ToolRun run_with_rank1(const fs::path& dir, const char* signal, const std::string& run_args) {
  return run_with_shell_rank(dir, 1, run_args, str_cat("sleep 3; kill -", signal, " $pid; wait"));
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

// For rank 0's shell: once the first checkpoint is complete (an epoch is ~0.2 s here), poll for
// the next one's temporary file (atomic_file.h: NAME.tmp, renamed over NAME once on disk) and stop
// the writer; if the file is still there once it has stopped, the writer is between creating it
// and renaming it: kill it. Otherwise (it renamed in between: 1 time in 12 without the stop,
// measured) let it go on to the next checkpoint. Every wait is bounded (~20 s in all): a writer
// that never gets there is killed anyway.
constexpr const char* kKillTheWriterMidCheckpoint =
    "i=0; until [ -e killed/last.safetensors ] || [ $i -ge 300 ]; do sleep 0.05; i=$((i+1)); done; "
    "k=0; while [ $k -lt 2000000 ]; do "
    "while [ ! -e killed/last.safetensors.tmp ] && [ $k -lt 2000000 ]; do k=$((k+1)); done; "
    "kill -STOP $pid; s=; until case \"$s\" in *\") \"[TZ]\" \"*) true;; *) false;; esac; do "
    "read -r s < /proc/$pid/stat || break; done; "
    "[ -e killed/last.safetensors.tmp ] && break; kill -CONT $pid; done; kill -9 $pid; wait";

// Rank 0 writes the checkpoints: killed (SIGKILL) in the middle of writing one, it leaves the last
// complete one, which a single process resumes and trains on to the end.
TEST_F(DataParallel, TheLastCompleteCheckpointStaysLoadableWhenTheWriterIsKilledWritingTheNext) {
  const ToolRun r =
      run_with_shell_rank(dir_, 0, "--epochs 100000 --collective-timeout 5 --out killed", kKillTheWriterMidCheckpoint);
  EXPECT_NE(r.code, 0) << r.output;
  ASSERT_TRUE(fs::exists(dir_ / "killed/last.safetensors.tmp")) << "the writer was not killed mid-checkpoint";
  const auto state = [&] {
    const SafetensorsFile last = load_safetensors((dir_ / "killed/last.safetensors").string());
    return nlohmann::json::parse(last.metadata.at("train_state"));
  };
  const nlohmann::json killed = state();
  const int epochs = killed["epoch"];
  EXPECT_GE(epochs, 1);
  EXPECT_EQ(killed["batch"], 0);  // written at an epoch's end
  const ToolRun rest = run(dir_, str_cat(kRun, " --epochs ", epochs + 1, " --out killed --resume"));
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_NE(rest.output.find(str_cat("finished ", epochs + 1, " epochs")), std::string::npos) << rest.output;
  EXPECT_EQ(state()["epoch"], epochs + 1);
  EXPECT_FALSE(fs::exists(dir_ / "killed/last.safetensors.tmp"));  // written over, then renamed
}

// The seg_train processes that have `out` among their arguments, by rank (OMPI_COMM_WORLD_RANK;
// -1 outside mpirun): the ranks of the job that writes there.
std::map<int, pid_t> ranks_writing_to(const fs::path& out) {
  const auto split = [](const std::string& s) {  // /proc's NUL-separated lists
    std::vector<std::string> parts;
    for (size_t at = 0, end; at < s.size(); at = end + 1) {
      end = std::min(s.find('\0', at), s.size());
      parts.push_back(s.substr(at, end - at));
    }
    return parts;
  };
  std::map<int, pid_t> ranks;
  std::error_code error;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc", error)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::vector<std::string> args = split(test::read_file(e.path() / "cmdline"));
    if (args.empty() || fs::path(args[0]).filename() != "seg_train" ||
        std::find(args.begin(), args.end(), out.string()) == args.end())
      continue;
    int rank = -1;
    for (const std::string& v : split(test::read_file(e.path() / "environ")))
      if (v.rfind("OMPI_COMM_WORLD_RANK=", 0) == 0) rank = std::stoi(v.substr(21));
    ranks[rank] = pid_t(std::stol(pid));
  }
  return ranks;
}

// Epochs of 2000 steps (~20 s here): a job stopped in its first seconds has written no checkpoint
// but the one it writes on stopping.
const std::string kForever = str_cat(kRun, " --synthetic-train 16000 --epochs 100000");

// kForever on 2 ranks into `out`, in the background. The constructor returns once it trains; the
// destructor kills what is left of it.
class ForeverJob {
 public:
  ForeverJob(const fs::path& dir, const fs::path& out) : out_(out) {
    // mpirun's pid in mpirun.pid, to signal it.
    fs::remove(dir / "mpirun.pid");
    const std::string line = str_cat("sh -c '", dp::mpirun_np(2), kForever,
                                     " --out ", out.string(), " & echo $! > mpirun.pid; wait $!'");
    job_ = std::async(std::launch::async, [dir, line] { return run(dir, line); });
    // Rank 0 writes config.json once the ranks have agreed on their configuration and dataset;
    // a second later they are some steps in.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(out / "config.json") && std::chrono::steady_clock::now() < give_up &&
           job_.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout) {
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (job_.wait_for(std::chrono::seconds(0)) != std::future_status::timeout) ended_ = job_.get();
    else if (fs::exists(out / "config.json")) mpirun_ = pid_t(std::atol(test::read_file(dir / "mpirun.pid").c_str()));
  }
  ~ForeverJob() {
    if (!job_.valid()) return;
    kill_all();
    job_.wait();
  }

  // 0 if the job is not training; if it ended, early() has its output.
  pid_t mpirun() const { return mpirun_; }
  const std::string& early() const { return ended_.output; }

  // Waits for the job to end (at most 60 s, then it is killed): mpirun's exit status and the output
  // of every rank, and `seconds` from the call. No rank outlives mpirun.
  ToolRun finish(double& seconds) {
    const auto start = std::chrono::steady_clock::now();
    if (job_.wait_for(std::chrono::seconds(60)) == std::future_status::timeout) {
      ADD_FAILURE() << "the job did not end within 60 s";
      kill_all();
    }
    const ToolRun r = job_.get();
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // mpirun may exit while the kernel still tears down the ranks it killed.
    for (int i = 0; i < 100 && !ranks_writing_to(out_).empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(ranks_writing_to(out_).size(), 0u) << "a rank outlived mpirun";
    return r;
  }

 private:
  void kill_all() const {
    if (mpirun_ > 0) ::kill(mpirun_, SIGKILL);
    for (const auto& [rank, pid] : ranks_writing_to(out_)) ::kill(pid, SIGKILL);
  }

  fs::path out_;
  std::future<ToolRun> job_;
  ToolRun ended_;
  pid_t mpirun_ = 0;
};

// After a job stopped by a signal: rank 0 alone said where it stopped (mid-epoch), once;
// last.safetensors holds that point, and one process resumes from it.
void expect_saved_once_where_it_stopped(const fs::path& dir, const fs::path& out, const std::string& output) {
  static const std::regex kStopped("stopped at epoch 1, batch ([0-9]+)/2000; checkpoint ");
  std::vector<int> at;
  for (std::sregex_iterator m(output.begin(), output.end(), kStopped), end; m != end; ++m)
    at.push_back(std::stoi((*m)[1].str()));
  ASSERT_EQ(at.size(), 1u) << output;
  const auto state = [&] {
    return nlohmann::json::parse(load_safetensors((out / "last.safetensors").string()).metadata.at("train_state"));
  };
  const nlohmann::json stopped = state();
  EXPECT_EQ(stopped["epoch"], 0);
  EXPECT_EQ(stopped["batch"], at[0]);
  EXPECT_EQ(stopped["steps"], at[0]);
  const ToolRun rest = run(dir, str_cat(kForever, " --out ", out.string(), " --resume --stop-after-steps 2"));
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_EQ(state()["steps"], at[0] + 2);
}

// Open MPI's mpirun (4.1) does not pass SIGTERM or SIGINT on (ess_base_forward_signals refuses
// them; Ctrl-C reaches mpirun alone, as every rank leads a process group of its own): it sends
// each rank SIGCONT, sleeps odls_base_sigkill_timeout (1 s), sends SIGTERM, sleeps 1 s more and
// sends SIGKILL. The ranks' SIGTERM handler stops them after the step in progress (~10 ms here),
// rank 0 saves, and then they wait in MPI_Finalize for mpirun, which kills them: mpirun exits 1
// about 2 s after the signal. With steps (and a save) longer than the second between SIGTERM and
// SIGKILL nothing is saved; README.md says what to do then.
TEST_F(DataParallel, SigtermOrSigintToMpirunStopsEveryRankAndRankZeroSavesOnce) {
  for (const int signal : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(signal == SIGTERM ? "SIGTERM" : "SIGINT");
    const fs::path out = dir_ / (signal == SIGTERM ? "term" : "int");
    ForeverJob job(dir_, out);
    ASSERT_GT(job.mpirun(), 0) << job.early();
    ASSERT_EQ(::kill(job.mpirun(), signal), 0);
    double seconds = 0;
    const ToolRun r = job.finish(seconds);
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_LT(seconds, 10) << r.output;
    expect_saved_once_where_it_stopped(dir_, out, r.output);
  }
}

// What README.md advises for steps longer than mpirun's second: signal the ranks themselves.
// Here only rank 1, which does not write: the ranks agree to stop after the step in progress, and
// rank 0 saves. Rank 1 exits 143 (rank 0, not signalled, exits 0) and mpirun passes that on.
TEST_F(DataParallel, SigtermToOneRankStopsEveryRankAfterTheStepAndRankZeroSaves) {
  const fs::path out = dir_ / "rank1";
  ForeverJob job(dir_, out);
  ASSERT_GT(job.mpirun(), 0) << job.early();
  const std::map<int, pid_t> ranks = ranks_writing_to(out);
  ASSERT_EQ(ranks.size(), 2u);
  ASSERT_EQ(::kill(ranks.at(1), SIGTERM), 0);
  double seconds = 0;
  const ToolRun r = job.finish(seconds);
  EXPECT_EQ(r.code, 128 + SIGTERM) << r.output;
  EXPECT_LT(seconds, 10) << r.output;
  expect_saved_once_where_it_stopped(dir_, out, r.output);
}

// The same on the (emulated) GPU: each rank's model and batch norm on its GPU, the sums staged
// through the host.
TEST(DataParallelGpu, TwoGpuRanksWithSynchronizedBatchNormTrainLikeOneProcess) {
  CUSEG_REQUIRE_GPU();
  if (const std::string why = missing_mpi(); !why.empty()) GTEST_SKIP() << why;
  const fs::path dir = test::fresh_test_dir("cuseg_dp_gpu");
  const std::string mpirun = dp::mpirun_np(2);
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
