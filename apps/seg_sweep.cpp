// seg_sweep: which regularizer, and how strong? Trains one model per (penalty, λ) — and per fold
// with --folds K (k-fold cross-validation on the train split) — and prints, for each, the
// validation mIoU and Dice, the sparsity and norm of the penalized weights, and the train–val
// mIoU gap; then names the best by validation mIoU. Every trial keeps its checkpoints and log in
// OUT/<penalty>-<λ>[/fold<f>]; the table is also written as OUT/sweep.json.
//
// Penalties: none, l1, l1-prox, l2, elastic (λ1 = λ2 = λ), smooth-l1 (λ, with --beta), and
// decay (decoupled weight decay λ, no penalty).
//
// A sweep survives being stopped: each trial's result is written (atomically) to its folder's
// trial.json as it finishes, so the same command run again skips the finished trials and resumes
// the interrupted one from its last checkpoint, ending with the table an uninterrupted sweep
// ends with. SIGINT/SIGTERM stop after the current step, as seg_train does (exit 130/143). A trial
// whose loss or gradient goes non-finite is recorded as failed, with the reason, and the sweep
// goes on.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/tool.h"
#include "apps/train_options.h"
#include "cuseg/core/atomic_file.h"
#include "cuseg/core/number_list.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

extern "C" void on_stop_signal(int signal) {
  cuseg::request_stop(signal);
  std::signal(signal, SIG_DFL);  // a second one ends the process
}

const std::vector<std::string> kPenalties = {"none", "l1", "l1-prox", "l2", "elastic", "smooth-l1", "decay"};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// One training run: a penalty at a strength, on one fold (or the val split).
struct Trial {
  std::string penalty;
  double lambda = 0;
  int fold = 0;
  std::string tag;  // <penalty>-<λ>: the row it belongs to
  cuseg::TrainConfig config;
  std::string describe(int folds) const {
    std::string s = penalty;
    if (penalty != "none") s += cuseg::str_cat(" λ=", cuseg::str_cat(lambda));
    if (folds >= 2) s += cuseg::str_cat(" fold ", fold + 1);
    return s;
  }
};

// What a finished trial left: its metrics, or why it failed. Stored as the trial's trial.json.
struct Outcome {
  bool failed = false;
  std::string reason;
  double val_miou = 0, val_dice = 0, sparsity = 0, weight_norm = 0, train_miou = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Outcome, failed, reason, val_miou, val_dice, sparsity, weight_norm, train_miou)

struct Row {
  std::string penalty;
  double lambda = 0;
  Outcome mean;  // over the folds; failed when any fold failed
  double gap() const { return mean.train_miou - mean.val_miou; }
};

std::vector<Trial> plan(const cuseg::TrainConfig& base, const std::vector<std::string>& kinds,
                        const std::vector<double>& strengths, int folds) {
  std::vector<Trial> trials;
  for (const std::string& kind : kinds) {
    for (double lambda : kind == "none" ? std::vector<double>{0.0} : strengths) {
      char tag[64];
      std::snprintf(tag, sizeof tag, "%s-%g", kind.c_str(), lambda);
      for (int f = 0; f < (folds >= 2 ? folds : 1); ++f) {
        cuseg::TrainConfig c = base;
        c.penalty = kind == "decay" ? "none" : kind;
        c.l1 = c.l2 = 0;
        c.weight_decay = 0;
        if (kind == "l1" || kind == "l1-prox" || kind == "smooth-l1") c.l1 = lambda;
        if (kind == "l2") c.l2 = lambda;
        if (kind == "elastic") c.l1 = c.l2 = lambda;
        if (kind == "decay") c.weight_decay = lambda;
        c.quiet = true;
        c.progress = false;
        c.folds = folds >= 2 ? folds : 0;
        c.fold = f;
        c.out = (fs::path(base.out) / tag / (folds >= 2 ? "fold" + std::to_string(f) : "")).string();
        trials.push_back({kind, lambda, f, tag, c});
      }
    }
  }
  return trials;
}

// Runs a trial, resuming it where a stopped sweep left it. Returns false when a stop was asked for.
bool run_trial(Trial& t, Outcome& outcome) {
  const fs::path dir = t.config.out;
  t.config.resume = fs::exists(dir / "last.safetensors");
  cuseg::Trainer trainer(t.config);
  const cuseg::TrainResult r = trainer.run();
  if (r.status == cuseg::TrainStatus::Interrupted) return false;
  if (r.status == cuseg::TrainStatus::NonFinite) {
    outcome = Outcome{};
    outcome.failed = true;
    outcome.reason = r.message;
  } else {
    // The last epoch's line of the trial's log: also there when the run had ended before a stop
    // kept its result from being written.
    std::ifstream in(dir / "log.jsonl");
    json last;
    for (std::string line; std::getline(in, line);) last = json::parse(line);
    CUSEG_CHECK(last.is_object(), (dir / "log.jsonl").string(), ": no epoch logged");
    outcome = Outcome{};
    outcome.val_miou = last["miou"].get<double>();
    outcome.val_dice = last["mdice"].get<double>();
    outcome.sparsity = last["sparsity"].get<double>();
    outcome.weight_norm = last["weight_norm"].get<double>();
    outcome.train_miou = trainer.evaluate(true).mean_iou;
  }
  cuseg::write_text_file_atomically((dir / "trial.json").string(), json(outcome).dump(2) + "\n");
  return true;
}

// The sweep's settings, kept in OUT so that a rerun continues the same sweep and no other.
void claim_out(const cuseg::TrainConfig& base, const std::string& penalties, const std::vector<double>& strengths,
               int folds) {
  cuseg::TrainConfig stored = base;
  stored.out.clear();
  const json settings = {{"penalties", penalties}, {"lambdas", strengths}, {"folds", folds},
                         {"train", json::parse(stored.to_json())}};
  const fs::path file = fs::path(base.out) / "sweep_settings.json";
  if (fs::exists(file)) {
    json before;
    std::ifstream(file) >> before;
    if (before != settings)
      throw cuseg::tool::UsageError(cuseg::str_cat(base.out, " holds a sweep with other settings (",
                                                   file.string(), "): give another --out, or the same command"));
    return;
  }
  fs::create_directories(base.out);
  cuseg::write_text_file_atomically(file.string(), settings.dump(2) + "\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seg_sweep: a grid over penalties and strengths, with a validation split or k-fold cross-validation",
               "seg_sweep"};
  cuseg::TrainConfig base;
  base.out = "runs/sweep";
  base.epochs = 3;
  cuseg::tool::add_train_options(app, base, cuseg::tool::TrainFlags::Sweep);
  std::string penalties = "none,l1,l2,elastic,smooth-l1,decay", lambdas = "1e-5,1e-4,1e-3";
  int folds = 0;
  app.add_option("--penalties", penalties, "Comma-separated: none, l1, l1-prox, l2, elastic, smooth-l1, decay")
      ->capture_default_str();
  app.add_option("--lambdas", lambdas, "Comma-separated strengths, each > 0")->capture_default_str();
  app.add_option("--folds", folds, "k-fold cross-validation on the train split (0: use the val split)")
      ->capture_default_str();
  return cuseg::tool::run(app, argc, argv, [&] {
    using cuseg::tool::UsageError;
    cuseg::tool::finish_train_options(base);
    if (folds == 1 || folds < 0) throw UsageError(cuseg::str_cat("--folds ", folds, ": 0 (the val split) or at least 2"));
    std::vector<double> strengths;
    try {
      strengths = cuseg::parse_non_negative_list(lambdas, "--lambdas");
    } catch (const cuseg::Error& e) {
      throw UsageError(e.what());
    }
    for (double s : strengths)
      if (s <= 0) throw UsageError(cuseg::str_cat("--lambdas: ", s, " is not a strength (each > 0; the penalty none is the baseline)"));
    const std::vector<std::string> kinds = split_list(penalties);
    if (kinds.empty()) throw UsageError("--penalties is empty: name at least one of none, l1, l1-prox, l2, elastic, smooth-l1, decay");
    if (strengths.empty()) throw UsageError("--lambdas is empty: give at least one strength");
    for (const std::string& k : kinds)
      if (std::find(kPenalties.begin(), kPenalties.end(), k) == kPenalties.end())
        throw UsageError("--penalties: unknown '" + k + "' (none, l1, l1-prox, l2, elastic, smooth-l1, decay)");
    claim_out(base, penalties, strengths, folds);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);

    std::vector<Trial> trials = plan(base, kinds, strengths, folds);
    std::vector<Row> rows;
    int best = -1;  // in rows
    const int runs = folds >= 2 ? folds : 1;
    for (size_t i = 0; i < trials.size(); ++i) {
      Trial& t = trials[i];
      const fs::path result = fs::path(t.config.out) / "trial.json";
      Outcome outcome;
      if (fs::exists(result)) {
        json stored;
        std::ifstream(result) >> stored;
        outcome = stored.get<Outcome>();
        std::printf("trial %zu/%zu: %s — done before\n", i + 1, trials.size(), t.describe(folds).c_str());
      } else {
        std::printf("trial %zu/%zu: %s%s\n", i + 1, trials.size(), t.describe(folds).c_str(),
                    fs::exists(fs::path(t.config.out) / "last.safetensors") ? " (resumed)" : "");
        std::fflush(stdout);
        if (!run_trial(t, outcome)) {
          std::printf("stopped in trial %zu/%zu; the same command goes on from there\n", i + 1, trials.size());
          return cuseg::stop_signal() > 0 ? 128 + cuseg::stop_signal() : cuseg::tool::kOk;
        }
        if (outcome.failed) std::printf("  failed: %s\n", outcome.reason.c_str());
      }
      if (t.fold == 0) rows.push_back(Row{t.penalty, t.lambda, {}});
      Outcome& m = rows.back().mean;
      if (outcome.failed && !m.failed) m = outcome;
      if (!m.failed) {
        m.val_miou += outcome.val_miou / runs;
        m.val_dice += outcome.val_dice / runs;
        m.sparsity += outcome.sparsity / runs;
        m.weight_norm += outcome.weight_norm / runs;
        m.train_miou += outcome.train_miou / runs;
      }
      if (t.fold + 1 == runs && !m.failed && (best < 0 || m.val_miou > rows[size_t(best)].mean.val_miou)) {
        best = int(rows.size()) - 1;
        std::printf("  best so far: %s (val mIoU %.4f)\n", rows.back().penalty == "none" ? "none" : t.describe(0).c_str(),
                    m.val_miou);
      }
      std::fflush(stdout);
    }

    std::printf("\n%-10s %9s %9s %9s %9s %11s %9s\n", "penalty", "lambda", "val mIoU", "val Dice", "sparsity",
                "weight norm", "gap");
    for (const Row& r : rows) {
      if (r.mean.failed) {
        std::printf("%-10s %9.0e   failed: %s\n", r.penalty.c_str(), r.lambda, r.mean.reason.c_str());
        continue;
      }
      std::printf("%-10s %9.0e %9.4f %9.4f %9.4f %11.3f %9.4f\n", r.penalty.c_str(), r.lambda, r.mean.val_miou,
                  r.mean.val_dice, r.mean.sparsity, r.mean.weight_norm, r.gap());
    }
    if (best >= 0) {
      const Row& b = rows[size_t(best)];
      std::printf("\nbest: %s", b.penalty.c_str());
      if (b.penalty != "none") std::printf(" with lambda %g", b.lambda);
      std::printf(" (val mIoU %.4f%s)\n", b.mean.val_miou,
                  folds >= 2 ? cuseg::str_cat(", mean of ", folds, " folds").c_str() : "");
    } else {
      std::printf("\nevery trial failed: no best\n");
    }

    json j = json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      json row = {{"penalty", r.penalty}, {"lambda", r.lambda}, {"best", int(i) == best}, {"failed", r.mean.failed}};
      if (r.mean.failed) {
        row["reason"] = r.mean.reason;
      } else {
        row.update({{"val_miou", r.mean.val_miou}, {"val_dice", r.mean.val_dice}, {"sparsity", r.mean.sparsity},
                    {"weight_norm", r.mean.weight_norm}, {"train_miou", r.mean.train_miou}, {"gap", r.gap()}});
      }
      j.push_back(row);
    }
    cuseg::write_text_file_atomically((fs::path(base.out) / "sweep.json").string(), j.dump(2) + "\n");
    return best >= 0 ? cuseg::tool::kOk : cuseg::tool::kError;
  });
}
