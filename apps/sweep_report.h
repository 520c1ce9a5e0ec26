// seg_sweep --report DIR: one self-contained HTML page (no script, nothing fetched: the charts are
// inline SVG) that answers "which penalty, how strong, how sure, and what did it do to the
// weights": val mIoU against λ per penalty with the fold spread and the no-penalty baseline as a
// band; the train–val gap, the sparsity and the weight norm against λ; the learning curves of each
// penalty's best setting; the winner's per-class IoU against no penalty's and both one's penalized
// weights as histograms; the winner named with its margin in fold spreads; successive halving's
// decisions.
#pragma once

#include <string>
#include <vector>

#include "apps/sweep.h"

namespace cuseg::sweep {

struct ReportRow {
  Setting setting;
  std::vector<Outcome> folds;  // of the last rung it trained
  int64_t epochs = 0;
  std::vector<std::string> runs;  // its trials' folders
};

struct ReportDecision {
  int64_t epochs = 0;
  std::vector<std::string> kept, stopped;  // tags
};

// Writes DIR/report.html; `best` indexes rows (−1: every trial failed). Returns the number of charts.
int write_report(const std::string& dir, const std::vector<ReportRow>& rows, int best,
                 const std::vector<ReportDecision>& rungs, const std::string& title);

}  // namespace cuseg::sweep
