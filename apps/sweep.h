// seg_sweep's parts: what it trains (the settings of a grid or a random search, each trial's
// configuration), and a trial's results as they are kept in its folder, so that a stopped sweep
// goes on where it was. The driver (seg_sweep.cpp) decides what to train when (rungs).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cuseg/train/train_config.h"

namespace cuseg::sweep {

// A penalty at a strength; its tag names the folder of its trials (OUT/<tag>[/fold<f>]).
struct Setting {
  std::string penalty;  // none, l1, l1-prox, l2, elastic, smooth-l1, decay
  double lambda = 0;
  std::string tag;
  std::string describe() const;  // "l1 λ=0.0001", "none"
};

// grid: none once, then every other penalty at every strength. random: none once, then `trials`
// draws of a penalty (uniform over the others) and a strength log-uniform between the smallest
// and the largest of `lambdas`, from a Philox stream of `seed` (the same plan on every run).
std::vector<Setting> plan(const std::vector<std::string>& penalties, const std::vector<double>& lambdas,
                          const std::string& search, int trials, uint64_t seed);

// The training configuration of a setting on fold `fold` of `folds` (folds 0: the val split).
TrainConfig config_for(const TrainConfig& base, const Setting& s, int fold, int folds);

// What a trial had reached after some epochs: its metrics, or why it failed.
struct Outcome {
  bool failed = false;
  std::string reason;
  double val_miou = 0, val_dice = 0, sparsity = 0, weight_norm = 0, train_miou = 0;
  double val_loss = 0;  // breaks ties of val mIoU between settings (1e300 when not finite)
};

// A trial's outcomes by the epochs it had done (its folder's trial.json, written atomically).
std::map<int64_t, Outcome> load_outcomes(const std::string& dir);
void save_outcome(const std::string& dir, int64_t epochs, const Outcome& outcome);

// Trains the trial of `config` until the run has done `epochs` epochs, resuming from its folder's
// last checkpoint when there is one, and keeps the outcome. False when a stop was asked for
// (SIGINT): the checkpoint is written and nothing is kept.
bool train_to(TrainConfig config, int64_t epochs, Outcome& outcome);

}  // namespace cuseg::sweep
