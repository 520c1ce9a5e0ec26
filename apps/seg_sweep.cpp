// seg_sweep: which regularizer, and how strong? Trains one model per (penalty, λ) — and per fold
// with --folds K (k-fold cross-validation on the train split) — and prints, for each, the
// validation mIoU and Dice, the sparsity and norm of the penalized weights, and the train–val
// mIoU gap; then names the best by validation mIoU. Every run keeps its checkpoints and log in
// OUT/<penalty>-<λ>[/fold<f>]; the table is also written as OUT/sweep.json.
//
// Penalties: none, l1, l1-prox, l2, elastic (λ1 = λ2 = λ), smooth-l1 (λ, with --beta), and
// decay (decoupled weight decay λ, no penalty).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/tool.h"
#include "apps/train_options.h"
#include "cuseg/core/number_list.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Row {
  std::string penalty;
  double lambda = 0;
  double val_miou = 0, val_dice = 0, sparsity = 0, weight_norm = 0, train_miou = 0;
  double gap() const { return train_miou - val_miou; }
};

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
  app.add_option("--lambdas", lambdas, "Comma-separated strengths")->capture_default_str();
  app.add_option("--folds", folds, "k-fold cross-validation on the train split (0: use the val split)")
      ->capture_default_str();
  return cuseg::tool::run(app, argc, argv, [&] {
    using cuseg::tool::UsageError;
    cuseg::tool::finish_train_options(base);
    if (folds == 1 || folds < 0) throw UsageError("--folds must be 0 or at least 2");
    std::vector<double> strengths;
    try {
      strengths = cuseg::parse_non_negative_list(lambdas, "--lambdas");
    } catch (const cuseg::Error& e) {
      throw UsageError(e.what());
    }
    const std::vector<std::string> kinds = split_list(penalties);
    if (kinds.empty() || strengths.empty()) throw UsageError("--penalties and --lambdas must not be empty");
    for (const std::string& k : kinds)
      if (k != "none" && k != "l1" && k != "l1-prox" && k != "l2" && k != "elastic" && k != "smooth-l1" && k != "decay")
        throw UsageError("--penalties: unknown '" + k + "'");

    std::vector<Row> rows;
    std::printf("%-10s %9s %9s %9s %9s %11s %9s\n", "penalty", "lambda", "val mIoU", "val Dice", "sparsity",
                "weight norm", "gap");
    for (const std::string& kind : kinds) {
      const std::vector<double> grid = kind == "none" ? std::vector<double>{0.0} : strengths;
      for (double lambda : grid) {
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
        Row row{kind, lambda};
        const int runs = folds >= 2 ? folds : 1;
        char tag[64];
        std::snprintf(tag, sizeof tag, "%s-%g", kind.c_str(), lambda);
        for (int f = 0; f < runs; ++f) {
          c.folds = folds >= 2 ? folds : 0;
          c.fold = f;
          c.out = (fs::path(base.out) / tag / (folds >= 2 ? "fold" + std::to_string(f) : "")).string();
          cuseg::Trainer trainer(c);
          const cuseg::TrainResult r = trainer.run();
          CUSEG_CHECK(r.status == cuseg::TrainStatus::Finished || r.status == cuseg::TrainStatus::EarlyStopped,
                      tag, ": ", r.message);
          const cuseg::EpochReport& last = r.epochs.back();
          row.val_miou += last.val.mean_iou / runs;
          row.val_dice += last.val.mean_dice / runs;
          row.sparsity += last.sparsity / runs;
          row.weight_norm += last.weight_norm / runs;
          row.train_miou += trainer.evaluate(true).mean_iou / runs;
        }
        std::printf("%-10s %9.0e %9.4f %9.4f %9.4f %11.3f %9.4f\n", kind.c_str(), lambda, row.val_miou, row.val_dice,
                    row.sparsity, row.weight_norm, row.gap());
        std::fflush(stdout);
        rows.push_back(row);
      }
    }
    const Row* best = &rows[0];
    for (const Row& r : rows)
      if (r.val_miou > best->val_miou) best = &r;
    std::printf("\nbest: %s", best->penalty.c_str());
    if (best->penalty != "none") std::printf(" with lambda %g", best->lambda);
    std::printf(" (val mIoU %.4f%s)\n", best->val_miou, folds >= 2 ? cuseg::str_cat(", mean of ", folds, " folds").c_str() : "");

    nlohmann::json j = nlohmann::json::array();
    for (const Row& r : rows)
      j.push_back({{"penalty", r.penalty}, {"lambda", r.lambda}, {"val_miou", r.val_miou}, {"val_dice", r.val_dice},
                   {"sparsity", r.sparsity}, {"weight_norm", r.weight_norm}, {"train_miou", r.train_miou},
                   {"gap", r.gap()}, {"best", &r == best}});
    std::ofstream out(fs::path(base.out) / "sweep.json");
    out << j.dump(2) << "\n";
    CUSEG_CHECK(out.good(), base.out, "/sweep.json: cannot write");
    return 0;
  });
}
