// seg_sweep: which regularizer, and how strong? Trains one model per (penalty, λ) — and per fold
// with --folds K (k-fold cross-validation on the train split) — and prints, for each, the
// validation mIoU and Dice, the sparsity and norm of the penalized weights, and the train–val
// mIoU gap; then names the best by validation mIoU. Every trial keeps its checkpoints and log in
// OUT/<penalty>-<λ>[/fold<f>]; the table is also written as OUT/sweep.json.
//
// Penalties: none, l1, l1-prox, l2, elastic (λ1 = λ2 = λ), smooth-l1 (λ, with --beta), and
// decay (decoupled weight decay λ, no penalty). The strengths are a grid (--search grid: each of
// --lambdas) or drawn (--search random: --trials draws, log-uniform between the smallest and the
// largest of --lambdas). With --halving ETA the settings train in rungs (successive halving): all
// of them for --epochs/ETA^R epochs, the best 1/ETA of them on to ETA times that, and so on to
// --epochs, every trial on the learning-rate schedule of --epochs; the weakest stop early.
//
// A sweep survives being stopped: each trial's outcome at each rung is written (atomically) to its
// folder's trial.json, so the same command run again skips what is done and resumes the
// interrupted trial from its last checkpoint, ending with the table an uninterrupted sweep ends
// with. SIGINT/SIGTERM stop after the current step, as seg_train does (exit 130/143). A trial
// whose loss or gradient goes non-finite is recorded as failed, with the reason, and the sweep
// goes on.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "apps/sweep.h"
#include "apps/sweep_report.h"
#include "apps/tool.h"
#include "apps/train_options.h"
#include "cuseg/core/atomic_file.h"
#include "cuseg/core/number_list.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using cuseg::sweep::Outcome;
using cuseg::sweep::Setting;

namespace {

const std::vector<std::string> kPenalties = {"none", "l1", "l1-prox", "l2", "elastic", "smooth-l1", "decay"};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Options {
  std::string penalties = "none,l1,l2,elastic,smooth-l1,decay", lambdas = "1e-5,1e-4,1e-3", search = "grid", report;
  int folds = 0, trials = 8, halving = 0;
};

// The rungs' epochs: --epochs alone, or with successive halving of n settings at rate eta,
// epochs/eta^R, …, epochs/eta, epochs (R = ⌊log_eta n⌋, each at least 1 and more than the last).
std::vector<int64_t> rung_epochs(int64_t epochs, size_t n, int eta) {
  std::vector<int64_t> rungs = {epochs};
  if (eta < 2) return rungs;
  for (double k = double(eta); k <= double(n); k *= eta) {
    const int64_t e = std::max<int64_t>(1, int64_t(std::llround(double(epochs) / k)));
    if (e < rungs.front()) rungs.insert(rungs.begin(), e);
  }
  return rungs;
}

// A setting's standing after the last rung it trained: each fold's outcome and their mean.
struct Standing {
  std::vector<Outcome> folds;
  Outcome mean;
  int64_t epochs = 0;
};

// The folds' mean, in fold order; the first failed fold's outcome when one failed.
Outcome mean_of(const std::vector<Outcome>& folds) {
  Outcome mean;
  const double n = double(folds.size());
  for (const Outcome& o : folds) {
    if (o.failed) return o;
    mean.val_miou += o.val_miou / n;
    mean.val_dice += o.val_dice / n;
    mean.sparsity += o.sparsity / n;
    mean.weight_norm += o.weight_norm / n;
    mean.train_miou += o.train_miou / n;
    mean.val_loss += o.val_loss / n;
  }
  return mean;
}

// The sweep's settings, kept in OUT so that a rerun continues the same sweep and no other.
void claim_out(const cuseg::TrainConfig& base, const Options& o, const std::vector<double>& strengths) {
  cuseg::TrainConfig stored = base;
  stored.out.clear();
  const json settings = {{"penalties", o.penalties}, {"lambdas", strengths}, {"folds", o.folds},
                         {"search", o.search},       {"trials", o.trials},   {"halving", o.halving},
                         {"train", json::parse(stored.to_json())}};
  const fs::path file = fs::path(base.out) / "sweep_settings.json";
  if (fs::exists(file)) {
    json before;
    std::ifstream(file) >> before;
    if (before != settings)
      throw cuseg::tool::UsageError(cuseg::str_cat(base.out, " holds a sweep with other settings (", file.string(),
                                                   "): give another --out, or the same command"));
    return;
  }
  fs::create_directories(base.out);
  cuseg::write_text_file_atomically(file.string(), settings.dump(2) + "\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seg_sweep: penalties and strengths on a grid or drawn at random, with a validation split or k-fold "
               "cross-validation, optionally by successive halving",
               "seg_sweep"};
  cuseg::TrainConfig base;
  base.out = "runs/sweep";
  base.epochs = 3;
  cuseg::tool::add_train_options(app, base, cuseg::tool::TrainFlags::Sweep);
  Options o;
  app.add_option("--penalties", o.penalties, "Comma-separated: none, l1, l1-prox, l2, elastic, smooth-l1, decay")
      ->capture_default_str();
  app.add_option("--lambdas", o.lambdas,
                 "Comma-separated strengths, each > 0 (--search random: the bounds are the smallest and the largest)")
      ->capture_default_str();
  app.add_option("--folds", o.folds, "k-fold cross-validation on the train split (0: use the val split)")
      ->capture_default_str();
  app.add_option("--search", o.search, "grid (every strength) or random (--trials draws, seeded by --seed)")
      ->check(CLI::IsMember({"grid", "random"}))
      ->capture_default_str();
  app.add_option("--trials", o.trials, "--search random: penalty and strength draws (besides none)")
      ->capture_default_str();
  app.add_option("--report", o.report,
                 "Also write DIR/report.html: the sweep's charts (inline SVG, nothing fetched) and its verdict")
      ->option_text("DIR");
  app.add_option("--halving", o.halving,
                 "Successive halving at this rate (≥ 2): the best 1/ETA of the settings go on at each rung; 0 off")
      ->capture_default_str();
  return cuseg::tool::run(app, argc, argv, [&] {
    using cuseg::tool::UsageError;
    cuseg::tool::finish_train_options(base);
    if (o.folds == 1 || o.folds < 0)
      throw UsageError(cuseg::str_cat("--folds ", o.folds, ": 0 (the val split) or at least 2"));
    if (o.trials < 1) throw UsageError(cuseg::str_cat("--trials ", o.trials, ": at least 1"));
    if (o.halving == 1 || o.halving < 0) throw UsageError(cuseg::str_cat("--halving ", o.halving, ": 0 (off) or at least 2"));
    std::vector<double> strengths;
    try {
      strengths = cuseg::parse_non_negative_list(o.lambdas, "--lambdas");
    } catch (const cuseg::Error& e) {
      throw UsageError(e.what());
    }
    for (double s : strengths)
      if (s <= 0) throw UsageError(cuseg::str_cat("--lambdas: ", s, " is not a strength (each > 0; the penalty none is the baseline)"));
    const std::vector<std::string> kinds = split_list(o.penalties);
    if (kinds.empty()) throw UsageError("--penalties is empty: name at least one of none, l1, l1-prox, l2, elastic, smooth-l1, decay");
    if (strengths.empty()) throw UsageError("--lambdas is empty: give at least one strength");
    for (const std::string& k : kinds)
      if (std::find(kPenalties.begin(), kPenalties.end(), k) == kPenalties.end())
        throw UsageError("--penalties: unknown '" + k + "' (none, l1, l1-prox, l2, elastic, smooth-l1, decay)");
    if (!o.report.empty()) {  // refused before any training, not after
      std::error_code ec;
      fs::create_directories(o.report, ec);
      const fs::path probe = fs::path(o.report) / ".cuseg_probe";
      std::ofstream(probe) << "";
      if (ec || !fs::exists(probe))
        throw UsageError(cuseg::str_cat("--report ", o.report, ": cannot write there"));
      fs::remove(probe);
    }
    claim_out(base, o, strengths);
    cuseg::tool::stop_training_on_signals();

    const std::vector<Setting> settings = cuseg::sweep::plan(kinds, strengths, o.search, o.trials, base.seed);
    const int runs = o.folds >= 2 ? o.folds : 1;
    const std::vector<int64_t> rungs = rung_epochs(base.epochs, settings.size(), o.halving);
    std::vector<Standing> standing(settings.size());
    std::vector<size_t> alive(settings.size());
    std::iota(alive.begin(), alive.end(), 0);
    std::vector<cuseg::sweep::ReportDecision> decisions;  // each rung's
    int64_t epochs_trained = 0;
    int best = -1;
    for (size_t r = 0; r < rungs.size(); ++r) {
      const int64_t epochs = rungs[r];
      const size_t count = alive.size() * size_t(runs);
      size_t k = 0;
      for (size_t i : alive) {
        const Setting& s = settings[i];
        std::vector<Outcome> folds;
        for (int f = 0; f < runs; ++f) {
          const cuseg::TrainConfig c = cuseg::sweep::config_for(base, s, f, o.folds);
          const std::string where = cuseg::str_cat(
              rungs.size() > 1 ? cuseg::str_cat("rung ", r + 1, "/", rungs.size(), " (", epochs, " epochs), ") : "",
              "trial ", ++k, "/", count, ": ", s.describe(), o.folds >= 2 ? cuseg::str_cat(" fold ", f + 1) : "");
          const std::map<int64_t, Outcome> done = cuseg::sweep::load_outcomes(c.out);
          Outcome outcome;
          if (done.count(epochs)) {
            outcome = done.at(epochs);
            std::printf("%s — done before\n", where.c_str());
          } else {
            std::printf("%s%s\n", where.c_str(), fs::exists(fs::path(c.out) / "last.safetensors") ? " (resumed)" : "");
            std::fflush(stdout);
            if (!cuseg::sweep::train_to(c, epochs, outcome)) {
              std::printf("stopped in %s; the same command goes on from there\n", where.c_str());
              return 128 + cuseg::stop_signal();
            }
            if (outcome.failed) std::printf("  failed: %s\n", outcome.reason.c_str());
          }
          folds.push_back(outcome);
        }
        epochs_trained += (epochs - (r == 0 ? 0 : rungs[r - 1])) * runs;
        const Outcome mean = mean_of(folds);
        standing[i] = {folds, mean, epochs};
        if (r + 1 == rungs.size() && !mean.failed && (best < 0 || mean.val_miou > standing[size_t(best)].mean.val_miou)) {
          best = int(i);
          std::printf("  best so far: %s (val mIoU %.4f)\n", s.describe().c_str(), mean.val_miou);
        }
        std::fflush(stdout);
      }
      if (r + 1 == rungs.size()) break;
      // The best 1/eta go on: by val mIoU, failed ones last. Early rungs often tie on mIoU (every
      // model still predicting the commonest class): the lower val loss, which moves sooner, breaks
      // the tie; then the planned order.
      std::vector<size_t> ranked = alive;
      std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
        const Outcome &x = standing[a].mean, &y = standing[b].mean;
        if (x.failed != y.failed) return !x.failed;
        if (x.val_miou != y.val_miou) return x.val_miou > y.val_miou;
        return x.val_loss < y.val_loss;
      });
      const size_t keep = std::max<size_t>(1, alive.size() / size_t(o.halving));
      cuseg::sweep::ReportDecision decision{epochs, {}, {}};
      for (size_t j = 0; j < ranked.size(); ++j)
        (j < keep ? decision.kept : decision.stopped).push_back(settings[ranked[j]].tag);
      decisions.push_back(decision);
      std::printf("rung %zu/%zu: %zu of %zu go on to %lld epochs\n", r + 1, rungs.size(), keep, alive.size(),
                  static_cast<long long>(rungs[r + 1]));
      alive.assign(ranked.begin(), ranked.begin() + std::ptrdiff_t(keep));
      std::sort(alive.begin(), alive.end());  // the planned order again, for the next rung's trials
    }

    std::printf("\n%-10s %9s %9s %9s %9s %11s %9s %7s\n", "penalty", "lambda", "val mIoU", "val Dice", "sparsity",
                "weight norm", "gap", "epochs");
    for (size_t i = 0; i < settings.size(); ++i) {
      const Setting& s = settings[i];
      const Standing& st = standing[i];
      if (st.mean.failed) {
        std::printf("%-10s %9.0e   failed: %s\n", s.penalty.c_str(), s.lambda, st.mean.reason.c_str());
        continue;
      }
      std::printf("%-10s %9.2e %9.4f %9.4f %9.4f %11.3f %9.4f %7lld\n", s.penalty.c_str(), s.lambda, st.mean.val_miou,
                  st.mean.val_dice, st.mean.sparsity, st.mean.weight_norm, st.mean.train_miou - st.mean.val_miou,
                  static_cast<long long>(st.epochs));
    }
    if (best >= 0) {
      const Setting& b = settings[size_t(best)];
      std::printf("\nbest: %s", b.penalty.c_str());
      if (b.penalty != "none") std::printf(" with lambda %g", b.lambda);
      std::printf(" (val mIoU %.4f%s)\n", standing[size_t(best)].mean.val_miou,
                  o.folds >= 2 ? cuseg::str_cat(", mean of ", o.folds, " folds").c_str() : "");
    } else {
      std::printf("\nevery trial failed: no best\n");
    }
    std::printf("epochs trained: %lld (every setting to the end: %lld)\n", static_cast<long long>(epochs_trained),
                static_cast<long long>(int64_t(settings.size()) * runs * base.epochs));

    json rows = json::array();
    for (size_t i = 0; i < settings.size(); ++i) {
      const Outcome& m = standing[i].mean;
      json row = {{"penalty", settings[i].penalty}, {"lambda", settings[i].lambda}, {"best", int(i) == best},
                  {"failed", m.failed}, {"epochs", standing[i].epochs}};
      if (m.failed) {
        row["reason"] = m.reason;
      } else {
        row.update({{"val_miou", m.val_miou}, {"val_dice", m.val_dice}, {"sparsity", m.sparsity},
                    {"weight_norm", m.weight_norm}, {"train_miou", m.train_miou}, {"gap", m.train_miou - m.val_miou}});
      }
      rows.push_back(row);
    }
    json rungs_json = json::array();
    for (const cuseg::sweep::ReportDecision& d : decisions)
      rungs_json.push_back({{"epochs", d.epochs}, {"kept", d.kept}, {"stopped", d.stopped}});
    const json sweep = {{"rows", rows}, {"rungs", rungs_json}, {"epochs_trained", epochs_trained}};
    cuseg::write_text_file_atomically((fs::path(base.out) / "sweep.json").string(), sweep.dump(2) + "\n");
    if (!o.report.empty()) {
      std::vector<cuseg::sweep::ReportRow> report_rows;
      for (size_t i = 0; i < settings.size(); ++i) {
        cuseg::sweep::ReportRow row{settings[i], standing[i].folds, standing[i].epochs, {}};
        for (int f = 0; f < runs; ++f) row.runs.push_back(cuseg::sweep::config_for(base, settings[i], f, o.folds).out);
        report_rows.push_back(row);
      }
      const int charts = cuseg::sweep::write_report(o.report, report_rows, best, decisions,
                                                    cuseg::str_cat("seg_sweep: ", base.out));
      std::printf("report: %s (%d charts)\n", (fs::path(o.report) / "report.html").string().c_str(), charts);
    }
    return best >= 0 ? cuseg::tool::kOk : cuseg::tool::kError;
  });
}
