#include "apps/tool.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cuseg/core/error.h"
#include "cuseg/data/image_io.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/train/train_config.h"
#include "cuseg/train/trainer.h"

namespace {

extern "C" void on_stop_signal(int signal) {
  cuseg::request_stop(signal);
  std::signal(signal, SIG_DFL);  // a second one ends the process
}

}  // namespace

namespace cuseg::tool {

void stop_training_on_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

namespace fs = std::filesystem;

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "parse errors" with exit code 0.
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", app.get_name().c_str(), e.what());
    return kUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return kError;
  }
}

std::vector<std::string> expand_images(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file() && is_image_file(e.path().string())) found.push_back(e.path().string());
      CUSEG_CHECK(!found.empty(), p, ": no image (png, jpg, jpeg, bmp) in this folder");
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      CUSEG_CHECK(fs::exists(p), p, ": no such file or folder");
      out.push_back(p);
    }
  }
  return out;
}

void parse_size(const std::string& text, int& height, int& width) {
  try {
    parse_image_size(text, height, width);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

const CLI::Validator thread_count_check(
    [](std::string& value) -> std::string {
      int n = 0;
      try {
        n = std::stoi(value);
      } catch (const std::logic_error&) {
        return "'" + value + "' is not a number";
      }
      if (n >= 1 && n <= cpu_cores()) return "";
      return str_cat(value, ": must be between 1 and the ", cpu_cores(), " cores this process may use");
    },
    "1..cores", "thread count");

// The same flags as seg_train's: their help is the training options' table's.
void add_compute_options(CLI::App& app, ComputeOptions& options) {
  app.add_option("--backend", options.backend, train_option("--backend").help)->capture_default_str();
  app.add_option("--threads", options.threads, train_option("--threads").help)->check(thread_count_check);
}

Backend apply_compute_options(const ComputeOptions& options, Device device) {
  const Backend backend = parse_backend(options.backend);
  set_cpu_threads(options.threads);
  std::fprintf(stderr, "%s\n", compute_description(device, backend).c_str());
  return backend;
}

}  // namespace cuseg::tool
