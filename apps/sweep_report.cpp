#include "apps/sweep_report.h"

#include "apps/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cuseg/core/atomic_file.h"
#include "cuseg/core/safetensors.h"

namespace cuseg::sweep {

using svg::Band;
using svg::Series;
using svg::bar_chart;
using svg::escape;
using svg::num;
using svg::xy_chart;

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}
double spread_of(const std::vector<double>& v) {  // the sample standard deviation
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

std::vector<json> log_of(const std::string& run) {
  std::vector<json> lines;
  std::ifstream in(fs::path(run) / "log.jsonl");
  for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  return lines;
}

// The penalized weights of a trial (its convolutions' kernels: the "decay" group), as doubles.
std::vector<double> penalized_weights(const std::string& run) {
  std::vector<double> out;
  const fs::path file = fs::path(run) / "last.safetensors";
  if (!fs::exists(file)) return out;
  for (const auto& [name, t] : load_safetensors(file.string()).tensors) {
    if (t.rank() < 2 || !name.ends_with(".weight") || t.dtype() != DType::F32) continue;
    for (float v : t.to_vector<float>()) out.push_back(double(v));
  }
  return out;
}

double share(const std::vector<double>& w, double below) {
  if (w.empty()) return 0;
  double n = 0;
  for (double v : w) n += std::fabs(v) < below || (below == 0 && v == 0);
  return n / double(w.size());
}

}  // namespace

int write_report(const std::string& dir, const std::vector<ReportRow>& rows, int best,
                 const std::vector<ReportDecision>& rungs, const std::string& title) {
  int charts = 0;
  std::string body;
  const auto add = [&](const std::string& chart) { body += chart, ++charts; };
  // A measure of each fold: an Outcome field, or a function of the Outcome.
  auto fold_values = [](const ReportRow& r, auto measure) {
    std::vector<double> v;
    for (const Outcome& o : r.folds) v.push_back(std::invoke(measure, o));
    return v;
  };
  const ReportRow* none = nullptr;
  std::vector<std::string> penalties;
  for (const ReportRow& r : rows) {
    if (r.setting.penalty == "none") none = &r;
    else if (std::find(penalties.begin(), penalties.end(), r.setting.penalty) == penalties.end())
      penalties.push_back(r.setting.penalty);
  }
  const auto ok = [](const ReportRow& r) { return !r.folds.empty() && std::none_of(r.folds.begin(), r.folds.end(), [](const Outcome& o) { return o.failed; }); };

  // The verdict first.
  std::string verdict;
  if (best < 0) {
    verdict = "Every trial failed: no winner.";
  } else {
    const ReportRow& b = rows[size_t(best)];
    const std::vector<double> bv = fold_values(b, &Outcome::val_miou);
    if (b.setting.penalty == "none") {
      verdict = str_cat("No penalty beat none: the best val mIoU is no penalty's, ", num(mean_of(bv)), ".");
    } else if (!none || !ok(*none)) {
      verdict = str_cat("Winner: ", b.setting.describe(), " (val mIoU ", num(mean_of(bv)), "); no baseline (none) to "
                        "compare with in this sweep.");
    } else {
      const std::vector<double> nv = fold_values(*none, &Outcome::val_miou);
      const double margin = mean_of(bv) - mean_of(nv), spread = std::max(spread_of(bv), spread_of(nv));
      verdict = str_cat("Winner: ", b.setting.describe(), ", val mIoU ", num(mean_of(bv)), " against no penalty's ",
                        num(mean_of(nv)), ": a margin of ", num(margin),
                        spread > 0 ? str_cat(", ", num(margin / spread, "%.2f"), " times the fold spread (", num(spread), ")")
                                   : std::string(" (one split: no fold spread to weigh it against)"),
                        ".");
    }
  }

  // A penalty's settings that finished, by λ.
  const auto settings_of = [&](const std::string& penalty) {
    std::vector<const ReportRow*> of;
    for (const ReportRow& r : rows)
      if (r.setting.penalty == penalty && ok(r)) of.push_back(&r);
    std::sort(of.begin(), of.end(), [](auto* a, auto* b) { return a->setting.lambda < b->setting.lambda; });
    return of;
  };

  // Against λ: one line per penalty (fold mean, ± the fold spread), no penalty as a band.
  const auto against_lambda = [&](const std::string& id, const std::string& what, auto measure) {
    std::vector<Series> series;
    for (const std::string& p : penalties) {
      Series s{p, {}, {}, {}};
      for (const ReportRow* r : settings_of(p)) {
        const std::vector<double> v = fold_values(*r, measure);
        s.x.push_back(r->setting.lambda), s.y.push_back(mean_of(v)), s.err.push_back(spread_of(v));
      }
      if (!s.x.empty()) series.push_back(s);
    }
    std::optional<Band> band;
    if (none && ok(*none)) {
      const std::vector<double> v = fold_values(*none, measure);
      band = Band{"none (± spread)", mean_of(v) - spread_of(v), mean_of(v) + spread_of(v)};
    }
    add(xy_chart(id, str_cat(what, " against λ"), "λ", what, true, series, band));
  };
  against_lambda("miou", "val mIoU", &Outcome::val_miou);
  against_lambda("gap", "train – val mIoU gap", [](const Outcome& o) { return o.train_miou - o.val_miou; });

  // The weights themselves (each setting's first trial): exact zeros, |w| < 1e-3, the norm.
  std::map<const ReportRow*, std::vector<double>> weights;
  for (const ReportRow& r : rows)
    if (ok(r) && !r.runs.empty()) weights[&r] = penalized_weights(r.runs.front());
  const auto weight_chart = [&](const std::string& id, const std::string& what, auto measure) {
    std::vector<Series> series;
    for (const std::string& p : penalties) {
      Series s{p, {}, {}, {}};
      for (const ReportRow* r : settings_of(p))
        if (weights.count(r)) s.x.push_back(r->setting.lambda), s.y.push_back(measure(weights[r]));
      if (!s.x.empty()) series.push_back(s);
    }
    std::optional<Band> band;
    if (none && weights.count(none)) {
      const double v = measure(weights[none]);
      band = Band{"none", v, v};
    }
    add(xy_chart(id, str_cat(what, " against λ"), "λ", what, true, series, band,
                 "The penalized weights (the convolutions' kernels) of each setting's first trial."));
  };
  weight_chart("zeros", "share of exact zeros", [](const std::vector<double>& w) { return share(w, 0); });
  weight_chart("small", "share with |w| < 1e-3", [](const std::vector<double>& w) { return share(w, 1e-3); });
  weight_chart("norm", "weight norm ‖w‖₂", [](const std::vector<double>& w) {
    double s = 0;
    for (double v : w) s += v * v;
    return std::sqrt(s);
  });

  // Learning curves of each penalty's best setting (its first trial's log).
  std::vector<const ReportRow*> best_of;
  if (none && ok(*none)) best_of.push_back(none);
  for (const std::string& p : penalties) {
    const ReportRow* pick = nullptr;
    for (const ReportRow& r : rows)
      if (r.setting.penalty == p && ok(r) &&
          (!pick || mean_of(fold_values(r, &Outcome::val_miou)) > mean_of(fold_values(*pick, &Outcome::val_miou))))
        pick = &r;
    if (pick) best_of.push_back(pick);
  }
  for (const auto& [key, what] : std::vector<std::pair<std::string, std::string>>{
           {"train_loss", "train loss"}, {"val_loss", "val loss"}, {"miou", "val mIoU"}}) {
    std::vector<Series> series;
    for (const ReportRow* r : best_of) {
      Series s{r->setting.describe(), {}, {}, {}};
      for (const json& line : log_of(r->runs.front()))
        if (line.contains(key) && line[key].is_number())
          s.x.push_back(line["epoch"].get<double>()), s.y.push_back(line[key].get<double>());
      if (!s.x.empty()) series.push_back(s);
    }
    add(xy_chart(str_cat("curve_", key), str_cat(what, " per epoch, each penalty's best setting"), "epoch", what, false,
                 series, std::nullopt));
  }

  // The winner against no penalty: per-class IoU, and the weights' magnitudes.
  if (best >= 0) {
    const ReportRow& b = rows[size_t(best)];
    std::vector<const ReportRow*> pair = {&b};
    if (none && none != &b && ok(*none)) pair.push_back(none);
    std::vector<std::string> classes;
    std::vector<Series> iou;
    for (const ReportRow* r : pair) {
      const std::vector<json> log = log_of(r->runs.front());
      Series s{r->setting.describe(), {}, {}, {}};
      if (!log.empty() && log.back().contains("iou")) {
        if (classes.empty())
          for (const auto& [name, v] : log.back()["iou"].items()) classes.push_back(name);
        for (const std::string& c : classes) s.y.push_back(log.back()["iou"].value(c, 0.0));
      }
      iou.push_back(s);
    }
    add(bar_chart("class_iou", "val IoU per class: the winner and no penalty", "IoU", classes, iou));
    std::vector<std::string> bins = {"0"};
    for (int e = -8; e <= 0; ++e) bins.push_back(str_cat("<1e", e));
    bins.push_back("≥1");
    std::vector<Series> hist;
    for (const ReportRow* r : pair) {
      Series s{r->setting.describe(), {}, std::vector<double>(bins.size(), 0.0), {}};
      const std::vector<double>& w = weights.count(r) ? weights[r] : std::vector<double>{};
      for (double v : w) {
        size_t bin = v == 0 ? 0 : std::fabs(v) >= 1 ? bins.size() - 1
                                 : size_t(std::clamp(int(std::floor(std::log10(std::fabs(v)))) + 10, 1, int(bins.size()) - 2));
        s.y[bin] += 1.0 / double(w.size());
      }
      hist.push_back(s);
    }
    add(bar_chart("weights", "penalized weights by magnitude |w| (share of them): the winner and no penalty", "share",
                  bins, hist));
  }

  // The table, and successive halving's decisions.
  std::string table = "<table><tr><th>penalty</th><th>λ</th><th>val mIoU</th><th>± folds</th><th>val Dice</th>"
                      "<th>sparsity</th><th>weight norm</th><th>gap</th><th>epochs</th></tr>";
  for (size_t i = 0; i < rows.size(); ++i) {
    const ReportRow& r = rows[i];
    table += str_cat("<tr", int(i) == best ? " class=\"best\"" : "", "><td>", escape(r.setting.penalty), "</td><td>",
                     r.setting.penalty == "none" ? "" : num(r.setting.lambda), "</td>");
    if (!ok(r)) {
      std::string reason;
      for (const Outcome& o : r.folds)
        if (o.failed) reason = o.reason;
      table += str_cat("<td colspan=\"7\">failed: ", escape(reason), "</td></tr>");
      continue;
    }
    const auto m = [&](double Outcome::*f) { return mean_of(fold_values(r, f)); };
    table += str_cat("<td>", num(m(&Outcome::val_miou)), "</td><td>", num(spread_of(fold_values(r, &Outcome::val_miou))),
                     "</td><td>", num(m(&Outcome::val_dice)), "</td><td>", num(m(&Outcome::sparsity)), "</td><td>",
                     num(m(&Outcome::weight_norm)), "</td><td>", num(m(&Outcome::train_miou) - m(&Outcome::val_miou)),
                     "</td><td>", r.epochs, "</td></tr>");
  }
  table += "</table>";
  std::string halving;
  if (!rungs.empty()) {
    halving = "<h2>Successive halving</h2><table><tr><th>after epoch</th><th>went on</th><th>stopped</th></tr>";
    for (const ReportDecision& d : rungs) {
      std::string kept, stopped;
      for (const std::string& t : d.kept) kept += (kept.empty() ? "" : ", ") + escape(t);
      for (const std::string& t : d.stopped) stopped += (stopped.empty() ? "" : ", ") + escape(t);
      halving += str_cat("<tr><td>", d.epochs, "</td><td>", kept, "</td><td>", stopped, "</td></tr>");
    }
    halving += "</table>";
  }

  const std::string page = str_cat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", escape(title),
      "</title><style>body{font-family:sans-serif;margin:24px;max-width:1200px}figure{display:inline-block;"
      "margin:8px;vertical-align:top}figcaption{font-weight:bold;font-size:14px}.note{font-size:12px;color:#555;"
      "max-width:540px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;"
      "text-align:right}tr.best{background:#e8f5e9}.verdict{font-size:16px;padding:8px;background:#f3f3f3}</style>"
      "</head><body><h1>",
      escape(title), "</h1><p class=\"verdict\" id=\"verdict\">", escape(verdict), "</p>\n", body, "<h2>Every setting</h2>",
      table, halving, "</body></html>\n");
  fs::create_directories(dir);
  write_text_file_atomically((fs::path(dir) / "report.html").string(), page);
  return charts;
}

}  // namespace cuseg::sweep
