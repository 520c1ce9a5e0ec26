#include "apps/sweep.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cuseg/core/atomic_file.h"
#include "cuseg/core/philox.h"
#include "cuseg/train/trainer.h"

namespace cuseg::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Outcome, failed, reason, val_miou, val_dice, sparsity, weight_norm,
                                                train_miou, val_loss)

namespace {

Setting make_setting(const std::string& penalty, double lambda) {
  char tag[80];
  std::snprintf(tag, sizeof tag, "%s-%.6g", penalty.c_str(), lambda);
  return {penalty, lambda, tag};
}

}  // namespace

std::string Setting::describe() const { return penalty == "none" ? penalty : str_cat(penalty, " λ=", lambda); }

std::vector<Setting> plan(const std::vector<std::string>& penalties, const std::vector<double>& lambdas,
                          const std::string& search, int trials, uint64_t seed) {
  std::vector<Setting> out;
  std::vector<std::string> others;
  for (const std::string& p : penalties) {
    if (p == "none") {
      out.push_back(make_setting("none", 0));
    } else {
      others.push_back(p);
    }
  }
  if (search == "grid") {
    for (const std::string& p : others)
      for (double l : lambdas) out.push_back(make_setting(p, l));
    return out;
  }
  CUSEG_CHECK(search == "random", "--search ", search, ": grid or random");
  if (others.empty()) return out;
  double lo = lambdas.front(), hi = lambdas.front();
  for (double l : lambdas) lo = std::min(lo, l), hi = std::max(hi, l);
  for (int i = 0; i < trials; ++i) {
    const double pick = philox_uniform01(seed, uint64_t(2 * i)), at = philox_uniform01(seed, uint64_t(2 * i + 1));
    const std::string& p = others[std::min(others.size() - 1, size_t(pick * double(others.size())))];
    // Three significant digits: the strength a person reads in the table and the folder's name.
    char rounded[32];
    std::snprintf(rounded, sizeof rounded, "%.3g",
                  std::pow(10.0, std::log10(lo) + at * (std::log10(hi) - std::log10(lo))));
    out.push_back(make_setting(p, std::stod(rounded)));
  }
  return out;
}

TrainConfig config_for(const TrainConfig& base, const Setting& s, int fold, int folds) {
  TrainConfig c = base;
  const std::string& kind = s.penalty;
  c.penalty = kind == "decay" ? "none" : kind;
  c.l1 = c.l2 = 0;
  c.weight_decay = 0;
  if (kind == "l1" || kind == "l1-prox" || kind == "smooth-l1") c.l1 = s.lambda;
  if (kind == "l2") c.l2 = s.lambda;
  if (kind == "elastic") c.l1 = c.l2 = s.lambda;
  if (kind == "decay") c.weight_decay = s.lambda;
  c.quiet = true;
  c.progress = false;
  c.folds = folds >= 2 ? folds : 0;
  c.fold = fold;
  c.out = (fs::path(base.out) / s.tag / (folds >= 2 ? "fold" + std::to_string(fold) : "")).string();
  return c;
}

std::map<int64_t, Outcome> load_outcomes(const std::string& dir) {
  std::map<int64_t, Outcome> out;
  const fs::path file = fs::path(dir) / "trial.json";
  if (!fs::exists(file)) return out;
  json j;
  std::ifstream(file) >> j;
  for (const auto& [epochs, o] : j.at("outcomes").items()) out[std::stoll(epochs)] = o.get<Outcome>();
  return out;
}

void save_outcome(const std::string& dir, int64_t epochs, const Outcome& outcome) {
  json all = json::object();
  for (const auto& [e, o] : load_outcomes(dir)) all[std::to_string(e)] = o;
  all[std::to_string(epochs)] = outcome;
  write_text_file_atomically((fs::path(dir) / "trial.json").string(), json{{"outcomes", all}}.dump(2) + "\n");
}

bool train_to(TrainConfig config, int64_t epochs, Outcome& outcome) {
  const fs::path dir = config.out;
  config.resume = fs::exists(dir / "last.safetensors");
  config.stop_after_epochs = epochs < config.epochs ? epochs : 0;
  Trainer trainer(config);
  const TrainResult r = trainer.run();
  if (stop_signal() != 0) return false;
  outcome = Outcome{};
  if (r.status == TrainStatus::NonFinite) {
    outcome.failed = true;
    outcome.reason = r.message;
  } else {
    // The log's line of the epoch reached: there also when the run had reached it before a stop
    // kept its outcome from being written.
    std::ifstream in(dir / "log.jsonl");
    json line;
    for (std::string text; std::getline(in, text);) {
      json j = json::parse(text);
      if (j.at("epoch").get<int64_t>() == epochs) line = j;
    }
    CUSEG_CHECK(line.is_object(), (dir / "log.jsonl").string(), ": no line for epoch ", epochs);
    outcome.val_miou = line["miou"].get<double>();
    outcome.val_dice = line["mdice"].get<double>();
    outcome.sparsity = line["sparsity"].get<double>();
    outcome.weight_norm = line["weight_norm"].get<double>();
    outcome.train_miou = trainer.evaluate(true).mean_iou;
    outcome.val_loss = line["val_loss"].is_number() ? line["val_loss"].get<double>() : 1e300;  // JSON has no ∞
  }
  save_outcome(dir.string(), epochs, outcome);
  return true;
}

}  // namespace cuseg::sweep
