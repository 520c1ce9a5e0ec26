// Confusion matrix and segmentation metrics: hand-computed values (every mean asserted), ignore
// label, classes absent from truth and prediction left out of the means, a class predicted but
// absent from the truth kept in them, arg-max ties to the first class, bad labels; with a GPU,
// identical counts, ties included.
#include "cuseg/model/metrics.h"

#include <gtest/gtest.h>

#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

// One-hot-ish logits whose arg-max is `predictions`.
Tensor logits_for(const std::vector<int>& predictions, int classes) {
  std::vector<float> v(predictions.size() * size_t(classes), 0.f);
  for (size_t i = 0; i < predictions.size(); ++i) v[i * size_t(classes) + size_t(predictions[i])] = 1.f;
  return Tensor::from_vector(v, Shape{1, 1, int64_t(predictions.size()), classes});
}

TEST(Metrics, MatchHandComputedValues) {
  // Truth 0 0 1 1 2 255, prediction 0 1 1 1 0 3 (class 3 exists but is never in truth... and
  // the ignored pixel's prediction does not count, so class 3 is absent everywhere).
  const int k = 4;
  ConfusionMatrix cm(k);
  cm.update(logits_for({0, 1, 1, 1, 0, 3}, k),
            Tensor::from_vector(std::vector<uint8_t>{0, 0, 1, 1, 2, 255}, Shape{1, 1, 6}));
  const std::vector<double> counts = cm.counts().to_vector<double>();
  EXPECT_EQ(counts, (std::vector<double>{1, 1, 0, 0,   // truth 0
                                         0, 2, 0, 0,   // truth 1
                                         1, 0, 0, 0,   // truth 2
                                         0, 0, 0, 0}));
  const Metrics m = cm.metrics();
  EXPECT_DOUBLE_EQ(m.pixels, 5);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy, 3.0 / 5);
  // Class 0: TP 1, FP 1, FN 1 → IoU 1/3, Dice 1/2. Class 1: TP 2, FP 1 → IoU 2/3, Dice 4/5.
  // Class 2: TP 0 → 0. Class 3: absent, left out.
  EXPECT_DOUBLE_EQ(m.per_class[0].iou, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.per_class[1].dice, 0.8);
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.per_class[1].recall, 1.0);
  EXPECT_FALSE(m.per_class[3].present);
  EXPECT_DOUBLE_EQ(m.mean_iou, (1.0 / 3 + 2.0 / 3 + 0) / 3);
  EXPECT_DOUBLE_EQ(m.mean_dice, (0.5 + 0.8 + 0) / 3);
  // Precision: class 0 1/2 (FP from the truth-2 pixel), class 1 2/3, class 2 never predicted 0.
  // Recall: class 0 1/2, class 1 1, class 2 0.
  EXPECT_DOUBLE_EQ(m.mean_precision, (0.5 + 2.0 / 3 + 0) / 3);
  EXPECT_DOUBLE_EQ(m.mean_recall, (0.5 + 1.0 + 0) / 3);

  cm.update(logits_for({2}, k), Tensor::from_vector(std::vector<uint8_t>{2}, Shape{1, 1, 1}));  // accumulates
  EXPECT_DOUBLE_EQ(cm.metrics().pixels, 6);
  cm.reset();
  EXPECT_DOUBLE_EQ(cm.metrics().pixels, 0);
  test::expect_error([&] { cm.update(logits_for({0}, k), Tensor::from_vector(std::vector<uint8_t>{9}, Shape{1, 1, 1})); },
                     {"confusion_update", "1 label(s) outside [0, 4)"});
}

// A class predicted but absent from the truth is present (metrics.h: "absent from both truth
// and prediction" is what leaves a class out): IoU, Dice and precision 0 (TP 0 over FP > 0),
// recall 0/0 counted as 0, and it counts in every mean.
TEST(Metrics, AClassPredictedButAbsentFromTheTruthCountsAsZeroInTheMeans) {
  const int k = 4;
  ConfusionMatrix cm(k);
  // Truth 0 0 1 1 2 2, prediction 0 1 1 1 0 3: class 3 only predicted, class 2 never predicted.
  cm.update(logits_for({0, 1, 1, 1, 0, 3}, k),
            Tensor::from_vector(std::vector<uint8_t>{0, 0, 1, 1, 2, 2}, Shape{1, 1, 6}));
  const Metrics m = cm.metrics();
  const ClassMetrics& c3 = m.per_class[3];
  EXPECT_TRUE(c3.present);
  EXPECT_DOUBLE_EQ(c3.support, 0);
  EXPECT_DOUBLE_EQ(c3.iou, 0);
  EXPECT_DOUBLE_EQ(c3.dice, 0);
  EXPECT_DOUBLE_EQ(c3.precision, 0);
  EXPECT_DOUBLE_EQ(c3.recall, 0);
  EXPECT_TRUE(m.per_class[2].present);  // in the truth, never predicted
  EXPECT_DOUBLE_EQ(m.per_class[2].precision, 0);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy, 3.0 / 6);
  // Class 0: TP 1, FP 1, FN 1; class 1: TP 2, FP 1, FN 0; classes 2 and 3 score 0. Means over 4.
  EXPECT_DOUBLE_EQ(m.mean_iou, (1.0 / 3 + 2.0 / 3 + 0 + 0) / 4);
  EXPECT_DOUBLE_EQ(m.mean_dice, (0.5 + 0.8 + 0 + 0) / 4);
  EXPECT_DOUBLE_EQ(m.mean_precision, (0.5 + 2.0 / 3 + 0 + 0) / 4);
  EXPECT_DOUBLE_EQ(m.mean_recall, (0.5 + 1.0 + 0 + 0) / 4);
}

// Rows of logits with ties, one per pixel, and the class that must win each: the first (lowest)
// of the tied maxima (confusion.h), which is also what argmax_classes does.
const std::vector<float> kTiedLogits = {1, 1, 0, 0,     // 0
                                        0, 2, 2, 2,     // 1
                                        3, 3, 3, 3,     // 0
                                        -1, 5, 0, 5,    // 1
                                        0, 0, 0, 7,     // 3
                                        -2, -2, -3, -2};  // 0
const std::vector<int> kTiedWinners = {0, 1, 0, 1, 3, 0};

TEST(Metrics, ArgmaxTiesGoToTheFirstClass) {
  const int k = 4, n = int(kTiedWinners.size());
  ConfusionMatrix cm(k);
  // Every pixel's truth is class 2, so row 2 of the counts is the histogram of the predictions.
  cm.update(Tensor::from_vector(kTiedLogits, Shape{1, 1, n, k}),
            Tensor::from_vector(std::vector<uint8_t>(size_t(n), 2), Shape{1, 1, n}));
  std::vector<double> expected(size_t(k * k), 0);
  for (int w : kTiedWinners) expected[size_t(2 * k + w)] += 1;
  EXPECT_EQ(cm.counts().to_vector<double>(), expected);
}

// Many ties (logits from {0, 1, 2}) on both kernel paths: the GPU's counts equal the CPU's, and
// both equal the counts of a first-index arg-max computed here.
TEST(MetricsGpu, ArgmaxTiesGoToTheFirstClassOnTheGpu) {
  CUSEG_REQUIRE_GPU();
  for (int k : {5, 40}) {  // shared-memory path and global-atomics path
    const Shape s{2, 19, 23, k};
    const Tensor logits = test::random_integers(s, 7, 0, 2);
    const int64_t rows = s.numel() / k;
    std::vector<int32_t> labels(static_cast<size_t>(rows));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i % size_t(k));
    const Tensor lt = Tensor::from_vector(labels, Shape{2, 19, 23});
    std::vector<double> expected(size_t(k * k), 0);
    const std::vector<float> v = logits.to_vector<float>();
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = v.data() + r * k;
      int best = 0;
      for (int c = 1; c < k; ++c)
        if (row[c] > row[best]) best = c;
      expected[size_t(labels[size_t(r)] * k + best)] += 1;
    }
    ConfusionMatrix cpu(k), gpu(k, 255, Device::cuda(0));
    cpu.update(logits, lt);
    gpu.update(logits.to(Device::cuda(0)), lt.to(Device::cuda(0)));
    EXPECT_EQ(cpu.counts().to_vector<double>(), expected) << "cpu, K=" << k;
    EXPECT_TRUE(test::identical(gpu.counts(), cpu.counts(), str_cat("confusion counts with ties K=", k), 7));
  }
}

TEST(MetricsGpu, CountsAreIdenticalOnTheGpu) {
  CUSEG_REQUIRE_GPU();
  for (int k : {5, 40}) {  // shared-memory path and global-atomics path
    const Shape s{3, 33, 17, k};
    const Tensor logits = test::random(s, 1, -1, 1, DType::F32);
    std::vector<int32_t> labels(size_t(3 * 33 * 17));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = i % 11 == 0 ? 255 : int32_t(i % size_t(k));
    const Tensor lt = Tensor::from_vector(labels, Shape{3, 33, 17});
    ConfusionMatrix cpu(k), gpu(k, 255, Device::cuda(0));
    cpu.update(logits, lt);
    gpu.update(logits.to(Device::cuda(0)), lt.to(Device::cuda(0)));
    EXPECT_TRUE(test::identical(gpu.counts(), cpu.counts(), str_cat("confusion counts K=", k), 1));
  }
}

}  // namespace
}  // namespace cuseg
