// What every cuseg tool shares: argument parsing with CLI11 and one exit-code convention —
// 0 success, 1 an error (one line on stderr naming the file or value and the problem),
// 2 a usage error (with the hint to run --help) — and the expansion of image arguments.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "cuseg/core/device.h"
#include "cuseg/kernels/backend.h"

namespace cuseg::tool {

constexpr int kOk = 0, kError = 1, kUsage = 2;

// Parses argv into `app`, then runs `body`; cuseg::Error and other exceptions become exit 1.
int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// SIGINT and SIGTERM from now on ask a training run to stop after its current step
// (cuseg::request_stop); a second signal ends the process at once.
void stop_training_on_signals();

// Files as given and the images (png, jpg, jpeg, bmp) inside folders, folders sorted by name.
std::vector<std::string> expand_images(const std::vector<std::string>& paths);

// "256" or "320x240" (width x height) → height, width (train_config.h's parse_image_size); a
// UsageError otherwise.
void parse_size(const std::string& text, int& height, int& width);

// --backend and --threads, as seg_predict and seg_eval take them (seg_train's are in its
// TrainConfig).
struct ComputeOptions {
  std::string backend = "auto";
  int threads = 0;
};
void add_compute_options(CLI::App& app, ComputeOptions& options);
// CLI11's check for --threads: 1 to the cores this process may use.
extern const CLI::Validator thread_count_check;
// Sets the CPU threads, refuses a backend that cannot run on `device`, and says on stderr what
// will run (kernels/compute.h); returns the backend for the model.
Backend apply_compute_options(const ComputeOptions& options, Device device);

// Thrown by a tool's body for a usage error found after parsing (exit 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace cuseg::tool
