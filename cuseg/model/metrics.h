// Segmentation metrics from a confusion matrix (rows: truth, columns: prediction), per class and
// averaged:  IoU = TP/(TP + FP + FN),  Dice = F1 = 2TP/(2TP + FP + FN),
//            precision = TP/(TP + FP),  recall = TP/(TP + FN),  pixel accuracy = ΣTP / Σ counts.
// A class absent from both truth and prediction has no defined score and is left out of the
// means; a ratio with a zero denominator otherwise counts as 0 (a class never predicted has
// precision 0).
#pragma once

#include <string>
#include <vector>

#include "cuseg/core/tensor.h"

namespace cuseg {

struct ClassMetrics {
  double iou = 0, dice = 0, precision = 0, recall = 0;
  double support = 0;     // pixels of this class in the truth
  bool present = false;   // in truth or in prediction
};

struct Metrics {
  double pixel_accuracy = 0, mean_iou = 0, mean_dice = 0, mean_precision = 0, mean_recall = 0;
  double pixels = 0;
  std::vector<ClassMetrics> per_class;
};

// counts: [K, K] f64 on any device.
Metrics compute_metrics(const Tensor& counts);

// Accumulates a confusion matrix on the logits' device over an evaluation.
class ConfusionMatrix {
 public:
  ConfusionMatrix(int classes, int ignore_index = 255, Device device = Device::cpu());
  void update(const Tensor& logits, const Tensor& labels);
  void reset();
  const Tensor& counts() const { return counts_; }
  Metrics metrics() const { return compute_metrics(counts_); }

 private:
  int ignore_index_;
  Tensor counts_;
};

}  // namespace cuseg
