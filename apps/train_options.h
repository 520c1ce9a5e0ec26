// The training flags seg_train and seg_sweep share, bound to a TrainConfig.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

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

// The configuration a parsed seg_train command line asks for (seg_train, and cuseg.train in
// Python, which parses its keyword arguments with the same options). With `resume`: the one
// stored in --out, where --epochs, --patience, --device, --backend, --threads, --precision,
// --workers, --tensorboard and --collective-timeout may change and any other flag may repeat its stored value; a
// different value is a UsageError naming the flag and both values.
TrainConfig resolve_train_config(const CLI::App& app, TrainOptions& options, bool resume);

// The TrainConfig fields (as config.json names them) a flag sets: --max-grad-norm →
// max_grad_norm, --size → height and width, --keep-alpha → channels, --bn → batch_norm.
std::vector<std::string> train_config_fields(const std::string& flag);

}  // namespace cuseg::tool
