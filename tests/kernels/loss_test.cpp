// Losses beyond plain cross-entropy: BCE with logits (pos_weight), MSE, smooth L1, focal (the
// cross-entropy with γ), soft Dice — hand values and gradient checks in double, bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "cuseg/kernels/dice.h"
#include "cuseg/kernels/elementwise_loss.h"
#include "cuseg/kernels/softmax.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

double loss_of(const Tensor& x, const Tensor& t, const Tensor& pw, const ElementwiseLossParams& p) {
  Tensor loss = Tensor::empty(Shape{1}, DType::F64);
  elementwise_loss_forward(x, t, pw, loss, p);
  return loss.to_vector<double>()[0];
}

TEST(ElementwiseLoss, MatchesHandValues) {
  Tensor x = Tensor::from_vector(std::vector<double>{0.0, 2.0}, Shape{1, 2});
  Tensor t = Tensor::from_vector(std::vector<double>{1.0, 0.0}, Shape{1, 2});
  // BCE: −log σ(0) = log 2;  −log(1 − σ(2)) = log(1 + e²).  pos_weight 3 triples the first.
  EXPECT_NEAR(loss_of(x, t, Tensor(), {ElementwiseLossKind::Bce}), (std::log(2.0) + std::log1p(std::exp(2.0))) / 2, 1e-15);
  EXPECT_NEAR(loss_of(x, t, Tensor::from_vector(std::vector<double>{3, 1}, Shape{2}), {ElementwiseLossKind::Bce}),
              (3 * std::log(2.0) + std::log1p(std::exp(2.0))) / 2, 1e-15);
  EXPECT_DOUBLE_EQ(loss_of(x, t, Tensor(), {ElementwiseLossKind::Mse}), (1 + 4) / 2.0);
  // Smooth L1, β = 1.5: |−1| < β → 1/3;  |2| ≥ β → 2 − 0.75.
  EXPECT_DOUBLE_EQ(loss_of(x, t, Tensor(), {ElementwiseLossKind::SmoothL1, 1.5}), (1.0 / 3 + 1.25) / 2);
  // Stable for large logits.
  Tensor big = Tensor::from_vector(std::vector<double>{-800, 800}, Shape{1, 2});  // both wrong by 800
  EXPECT_NEAR(loss_of(big, t, Tensor(), {ElementwiseLossKind::Bce}), 800.0, 1e-12);
}

class ElementwiseLossGradients : public ::testing::TestWithParam<ElementwiseLossKind> {};

TEST_P(ElementwiseLossGradients, BackwardMatchesFiniteDifferences) {
  const ElementwiseLossParams p{GetParam(), 0.7};
  const Shape s{2, 3, 4, 3};
  const bool bce = GetParam() == ElementwiseLossKind::Bce;
  const Tensor x = test::random(s, 1, -3, 3), t = test::random(s, 2, bce ? 0 : -3, bce ? 1 : 3);
  const Tensor pw = bce ? test::random(Shape{3}, 3, 0.5, 3) : Tensor();
  Tensor dx = Tensor::full(s, std::nan(""), DType::F64);
  elementwise_loss_backward(x, t, pw, dx, 1.0, p);
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss_of(v, t, pw, p); }, x, dx, "elementwise loss", 200));
}

INSTANTIATE_TEST_SUITE_P(Kinds, ElementwiseLossGradients,
                         ::testing::Values(ElementwiseLossKind::Bce, ElementwiseLossKind::Mse, ElementwiseLossKind::SmoothL1));

TEST(FocalLoss, IsCrossEntropyScaledByOneMinusPToTheGamma) {
  // One pixel, two classes, label 0 with p = 0.75: focal γ = 2 → 0.25²·(−log 0.75).
  Tensor x = Tensor::from_vector(std::vector<double>{std::log(3.0), 0.0}, Shape{1, 2});
  Tensor labels = Tensor::from_vector(std::vector<int32_t>{0}, Shape{1});
  Tensor loss = Tensor::empty(Shape{1}, DType::F64), ws = Tensor::empty(Shape{1}, DType::F64);
  softmax_cross_entropy_forward(x, labels, Tensor(), loss, ws, {-1, 0, 2.0});
  EXPECT_NEAR(loss.to_vector<double>()[0], 0.0625 * -std::log(0.75), 1e-15);
  expect_error([&] { softmax_cross_entropy_forward(x, labels, Tensor(), loss, ws, {-1, 0.1, 2.0}); },
               {"focal loss and label smoothing"});
}

TEST(FocalLoss, BackwardMatchesFiniteDifferences) {
  const Shape s{2, 3, 3, 4};
  const Tensor x = test::random(s, 4, -3, 3), w = test::random(Shape{4}, 5, 0.5, 2);
  std::vector<int32_t> labels(18);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = i % 6 == 5 ? -1 : int32_t(i % 4);
  const Tensor lt = Tensor::from_vector(labels, Shape{2, 3, 3});
  for (double gamma : {0.5, 2.0}) {
    const SoftmaxCrossEntropyParams p{-1, 0, gamma};
    auto loss = [&](const Tensor& v) {
      Tensor l = Tensor::empty(Shape{1}, DType::F64), ws = Tensor::empty(Shape{1}, DType::F64);
      softmax_cross_entropy_forward(v, lt, w, l, ws, p);
      return l.to_vector<double>()[0];
    };
    Tensor l = Tensor::empty(Shape{1}, DType::F64), ws = Tensor::empty(Shape{1}, DType::F64), dx = Tensor::full(s, std::nan(""), DType::F64);
    softmax_cross_entropy_forward(x, lt, w, l, ws, p);
    softmax_cross_entropy_backward(x, lt, w, ws, dx, 1.0, p);
    EXPECT_TRUE(test::gradcheck(loss, x, dx, str_cat("focal gamma ", gamma), 200));
  }
}

TEST(DiceLoss, PerfectPredictionGivesZeroAndGradientsCheckOut) {
  // Near-certain correct logits: every class's Dice → 1, loss → 0.
  Tensor x = Tensor::from_vector(std::vector<double>{40, 0, 0, 40}, Shape{2, 2});
  Tensor labels = Tensor::from_vector(std::vector<uint8_t>{0, 1}, Shape{2});
  Tensor loss = Tensor::empty(Shape{1}, DType::F64), stats = Tensor::empty(Shape{2, 2}, DType::F64);
  dice_forward(x, labels, loss, stats, {1e-9, 255});
  EXPECT_NEAR(loss.to_vector<double>()[0], 0.0, 1e-9);

  const Shape s{2, 4, 3, 5};
  const Tensor xr = test::random(s, 6, -3, 3);
  std::vector<uint8_t> lv(24);
  for (size_t i = 0; i < lv.size(); ++i) lv[i] = i % 7 == 3 ? 255 : uint8_t((i * 3) % 5);
  const Tensor lt = Tensor::from_vector(lv, Shape{2, 4, 3});
  const DiceParams p{1.0, 255};
  auto f = [&](const Tensor& v) {
    Tensor l = Tensor::empty(Shape{1}, DType::F64), st = Tensor::empty(Shape{2, 5}, DType::F64);
    dice_forward(v, lt, l, st, p);
    return l.to_vector<double>()[0];
  };
  Tensor st = Tensor::empty(Shape{2, 5}, DType::F64), dx = Tensor::full(s, std::nan(""), DType::F64);
  dice_forward(xr, lt, loss, st, p);
  dice_backward(xr, lt, st, dx, 1.0, p);
  EXPECT_TRUE(test::gradcheck(f, xr, dx, "dice", 200));
  Tensor bad = Tensor::from_vector(std::vector<uint8_t>{0, 7}, Shape{2});
  expect_error([&] { dice_forward(x, bad, loss, stats); }, {"dice_forward", "1 label(s) outside [0, 2)"});
}

}  // namespace
}  // namespace cuseg
