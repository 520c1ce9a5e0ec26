#include "cuseg/model/metrics.h"

#include "cuseg/kernels/confusion.h"

namespace cuseg {

namespace {
double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }
}  // namespace

Metrics compute_metrics(const Tensor& counts) {
  CUSEG_CHECK(counts.rank() == 2 && counts.dim(0) == counts.dim(1), "metrics: counts ", counts.str(), " is not square");
  const int k = int(counts.dim(0));
  const std::vector<double> c = counts.to(Device::cpu()).to(DType::F64).to_vector<double>();
  Metrics m;
  double correct = 0;
  int present = 0;
  for (int i = 0; i < k; ++i) {
    double truth = 0, predicted = 0;
    for (int j = 0; j < k; ++j) {
      truth += c[size_t(i * k + j)];
      predicted += c[size_t(j * k + i)];
      m.pixels += c[size_t(i * k + j)];
    }
    const double tp = c[size_t(i * k + i)], fp = predicted - tp, fn = truth - tp;
    correct += tp;
    ClassMetrics cm;
    cm.support = truth;
    cm.present = truth > 0 || predicted > 0;
    cm.iou = ratio(tp, tp + fp + fn);
    cm.dice = ratio(2 * tp, 2 * tp + fp + fn);
    cm.precision = ratio(tp, tp + fp);
    cm.recall = ratio(tp, tp + fn);
    if (cm.present) {
      ++present;
      m.mean_iou += cm.iou;
      m.mean_dice += cm.dice;
      m.mean_precision += cm.precision;
      m.mean_recall += cm.recall;
    }
    m.per_class.push_back(cm);
  }
  if (present) {
    m.mean_iou /= present;
    m.mean_dice /= present;
    m.mean_precision /= present;
    m.mean_recall /= present;
  }
  m.pixel_accuracy = ratio(correct, m.pixels);
  return m;
}

ConfusionMatrix::ConfusionMatrix(int classes, int ignore_index, Device device)
    : ignore_index_(ignore_index), counts_(Tensor::zeros(Shape{classes, classes}, DType::F64, device)) {
  CUSEG_CHECK(classes > 0, "metrics: classes must be positive");
}

void ConfusionMatrix::update(const Tensor& logits, const Tensor& labels) {
  confusion_update(logits, labels, counts_, ignore_index_);
}

void ConfusionMatrix::reset() { counts_.fill(0.0); }

}  // namespace cuseg
