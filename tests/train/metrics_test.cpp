// Confusion matrix and segmentation metrics: hand-computed values, ignore label, classes absent
// from truth and prediction left out of the means, bad labels; with a GPU, identical counts.
#include "cuseg/train/metrics.h"

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

  cm.update(logits_for({2}, k), Tensor::from_vector(std::vector<uint8_t>{2}, Shape{1, 1, 1}));  // accumulates
  EXPECT_DOUBLE_EQ(cm.metrics().pixels, 6);
  cm.reset();
  EXPECT_DOUBLE_EQ(cm.metrics().pixels, 0);
  test::expect_error([&] { cm.update(logits_for({0}, k), Tensor::from_vector(std::vector<uint8_t>{9}, Shape{1, 1, 1})); },
                     {"confusion_update", "1 label(s) outside [0, 4)"});
}

TEST(MetricsGpu, CountsAreIdenticalOnTheGpu) {
  CUSEG_REQUIRE_GPU();
  for (int k : {5, 40}) {  // shared-memory path and global-atomics path
    const Shape s{3, 33, 17, k};
    const Tensor logits = test::random(s, 1, -1, 1, DType::f32);
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
