// The training flags as CLI11 options, made from the library's table of training options
// (cuseg/train/train_config.h: flags, fields, help, allowed values, what --resume does), for
// seg_train, seg_sweep and cuseg.train in Python.
#pragma once

#include <CLI/CLI.hpp>

#include "cuseg/train/trainer.h"

namespace cuseg::tool {

// seg_train and cuseg.train take every flag of the table; seg_sweep, which trains a grid of runs,
// not those of a single run (--resume, --stop-after-steps).
enum class TrainFlags { OneRun, Sweep };

// Adds the table's flags to `app`, each bound to `config`, whose values are the defaults shown.
void add_train_options(CLI::App& app, TrainConfig& config, TrainFlags flags = TrainFlags::OneRun);
// Validates what the flags set; an invalid value is a UsageError naming the flag.
void finish_train_options(TrainConfig& config);

// The configuration a parsed command line asks for: `given` itself, or with --resume the one stored
// in --out, changed as resumed_config (train_config.h) allows; a stored value given otherwise is a
// UsageError naming the flag and both values.
TrainConfig resolve_train_config(const CLI::App& app, TrainConfig given);

}  // namespace cuseg::tool
