// The training flags seg_train and seg_sweep share, bound to a TrainConfig.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cuseg/train/trainer.h"

namespace cuseg::tool {

struct TrainOptions {
  TrainConfig config;
  std::string size = "64";
  bool keep_alpha = false, no_progress = false;
  std::string model = "unet-s";
};

void add_train_options(CLI::App& app, TrainOptions& options);
// Applies what parsing cannot (the size, alpha, the model name) and validates.
void finish_train_options(TrainOptions& options);

}  // namespace cuseg::tool
