// A process killed (SIGKILL, no chance to clean up) at random moments while it writes checkpoints
// never leaves a damaged one: after every kill the file loads and is one whole version. Run 200
// times at random delays drawn from a fixed seed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cuseg/core/philox.h"
#include "cuseg/core/safetensors.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

TEST(KillDuringWrite, EverySurvivingCheckpointLoads) {
  const fs::path dir = test::fresh_test_dir("cuseg_kill");
  const std::string path = (dir / "last.safetensors").string();
  save_safetensors(path, {{"model.a", Tensor::zeros(Shape{512, 1024})}, {"model.b", Tensor::zeros(Shape{3, 1000}, DType::f64)}},
                   {{"version", "0"}});
  constexpr int kKills = 200;
  int loaded = 0, newer = 0;
  int last_version = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::execl(CUSEG_CHECKPOINT_WRITER, CUSEG_CHECKPOINT_WRITER, path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // 0 to 40 ms: before the first write, in the middle of one, between two.
    const auto delay = std::chrono::microseconds(philox_word(2026, uint64_t(kill)) % 40000);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer ended on its own (status " << status << ")";

    SafetensorsFile f;
    ASSERT_NO_THROW(f = load_safetensors(path)) << "after kill " << kill << " at " << delay.count() << " us";
    const int version = std::stoi(f.metadata.at("version"));
    // One whole version: every element of every tensor holds its number.
    for (const auto& [name, t] : f.tensors) {
      const Tensor d = t.to(DType::f64);
      for (double v : d.to_vector<double>()) ASSERT_EQ(v, double(version)) << name << " after kill " << kill;
    }
    ++loaded;
    if (version != last_version) ++newer;
    last_version = version;
  }
  EXPECT_EQ(loaded, kKills);
  EXPECT_GT(newer, kKills / 4) << "too few kills landed after a completed write to exercise anything";
  RecordProperty("kills", kKills);
  RecordProperty("new_versions_seen", newer);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cuseg
