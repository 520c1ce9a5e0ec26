// A process killed (SIGKILL, no chance to clean up) at random moments while it writes checkpoints
// never leaves a damaged one: after every kill the file loads and is one whole version. Run 200
// times at random moments drawn from a fixed seed, spread over the writer's measured pace.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cuseg/core/philox.h"
#include "cuseg/core/safetensors.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

// The helper: the build's, or $CUSEG_CHECKPOINT_WRITER (a build copied elsewhere).
const char* writer_program() {
  const char* env = std::getenv("CUSEG_CHECKPOINT_WRITER");
  return env && *env ? env : CUSEG_CHECKPOINT_WRITER;
}

// Starts the writer on `path`, its stdout to `stdout_fd`.
pid_t start_writer(const std::string& path, int stdout_fd) {
  const char* program = writer_program();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(stdout_fd, STDOUT_FILENO);
    ::execl(program, program, path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// How long the writer takes here to finish its first version (start-up included): sanitizers and
// slow disks change it tenfold, so the kill moments are spread over a multiple of it.
std::chrono::microseconds time_to_first_version(const std::string& path) {
  int fds[2];
  if (::pipe(fds) != 0) return std::chrono::microseconds(0);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = start_writer(path, fds[1]);
  ::close(fds[1]);
  char c = 0;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') {
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(fds[0]);
  return std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
}

TEST(KillDuringWrite, EverySurvivingCheckpointLoads) {
  const fs::path dir = test::fresh_test_dir("cuseg_kill");
  const std::string path = (dir / "last.safetensors").string();
  save_safetensors(path, {{"model.a", Tensor::zeros(Shape{512, 1024})}, {"model.b", Tensor::zeros(Shape{3, 1000}, DType::F64)}},
                   {{"version", "0"}});
  const std::chrono::microseconds first = time_to_first_version(path);
  ASSERT_GT(first.count(), 0) << "the writer did not run";
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(devnull, 0);
  constexpr int kKills = 200;
  int loaded = 0, newer = 0;
  int last_version = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    const pid_t pid = start_writer(path, devnull);
    ASSERT_GE(pid, 0);
    // From 0 to three first versions' time: before the first write, in the middle of one, between two.
    const auto delay = std::chrono::microseconds(philox_word(2026, uint64_t(kill)) % uint64_t(3 * first.count()));
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
      const Tensor d = t.to(DType::F64);
      for (double v : d.to_vector<double>()) ASSERT_EQ(v, double(version)) << name << " after kill " << kill;
    }
    ++loaded;
    if (version != last_version) ++newer;
    last_version = version;
  }
  ::close(devnull);
  EXPECT_EQ(loaded, kKills);
  EXPECT_GT(newer, kKills / 4) << "too few kills landed after a completed write to exercise anything";
  RecordProperty("kills", kKills);
  RecordProperty("new_versions_seen", newer);
  RecordProperty("first_version_us", int(first.count()));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cuseg
