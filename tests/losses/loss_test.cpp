// The Loss API: names, weighted sums equal to the sum of their terms (values and gradients),
// value-only evaluation, bad specifications; on a GPU, CE + Dice against the CPU.
#include "cuseg/losses/loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cuseg/kernels/dice.h"
#include "cuseg/kernels/softmax.h"
#include "error_matchers.h"
#include "verify/registry.h"
#include "test_util.h"

namespace cuseg {
namespace {

struct Batch {
  Tensor logits, labels;
};

Batch make_batch(DType dtype = DType::F64, Device device = Device::cpu()) {
  const Shape s{2, 5, 4, 3};
  std::vector<uint8_t> labels(40);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = i % 9 == 4 ? 255 : uint8_t(i % 3);
  return {test::random(s, 1, -2, 2, dtype, device), Tensor::from_vector(labels, Shape{2, 5, 4}).to(device)};
}

double value(const Tensor& t) { return t.to(DType::F64).to_vector<double>()[0]; }

TEST(Loss, WeightedSumAddsValuesAndGradients) {
  const Batch b = make_batch();
  LossOptions o;
  o.class_weights = Tensor::from_vector(std::vector<double>{0.5, 1, 2}, Shape{3});
  auto sum = make_loss("0.5*ce+2*dice", o);
  EXPECT_EQ(sum->name(), "0.5*ce+2*dice");
  Tensor loss = Tensor::empty(Shape{1}, DType::F64), grad = Tensor::empty(b.logits.shape(), DType::F64);
  sum->compute(b.logits, b.labels, loss, grad, 0.75);

  Tensor ce = Tensor::empty(Shape{1}, DType::F64), ws = Tensor::empty(Shape{1}, DType::F64);
  Tensor dce = Tensor::empty(b.logits.shape(), DType::F64);
  softmax_cross_entropy_forward(b.logits, b.labels, o.class_weights, ce, ws);
  softmax_cross_entropy_backward(b.logits, b.labels, o.class_weights, ws, dce, 0.75 * 0.5);
  Tensor dice = Tensor::empty(Shape{1}, DType::F64), stats = Tensor::empty(Shape{2, 3}, DType::F64);
  Tensor ddice = Tensor::empty(b.logits.shape(), DType::F64);
  dice_forward(b.logits, b.labels, dice, stats);
  dice_backward(b.logits, b.labels, stats, ddice, 0.75 * 2);

  EXPECT_NEAR(value(loss), 0.5 * value(ce) + 2 * value(dice), 1e-14);
  std::vector<double> expected = dce.to_vector<double>();
  const std::vector<double> dd = ddice.to_vector<double>();
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += dd[i];
  EXPECT_TRUE(test::close(grad, Tensor::from_vector(expected, b.logits.shape()), 1e-14, "ce+dice gradient", 1));
}

TEST(Loss, EvaluatesWithoutAGradientAndFocalIsNamed) {
  const Batch b = make_batch();
  auto focal = make_loss("focal");
  EXPECT_EQ(focal->name(), "focal");
  Tensor loss = Tensor::empty(Shape{1}, DType::F64), none;
  focal->compute(b.logits, b.labels, loss, none);
  EXPECT_GT(value(loss), 0);
  auto ce = make_loss("ce");
  Tensor ce_loss = Tensor::empty(Shape{1}, DType::F64);
  ce->compute(b.logits, b.labels, ce_loss, none);
  EXPECT_LT(value(loss), value(ce_loss));  // (1 − p)^2 < 1 shrinks every term
}

// On a binary head's masks bce is cross-entropy on its logits (0, z) — binary cross-entropy with
// logits on z, by hand here; on masks of K classes it has no target and is refused.
TEST(Loss, BceOnABinaryHeadsMasksIsBinaryCrossEntropyOfTheForegroundLogit) {
  const std::vector<double> z = {-1.5, 0.25, 2.0, 0.0};
  std::vector<double> logits;
  for (double v : z) logits.insert(logits.end(), {0.0, v});
  const std::vector<uint8_t> y = {0, 1, 1, 0};
  LossOptions o;
  o.targets = LossOptions::Targets::BinaryHeadMasks;
  auto bce = make_loss("bce", o);
  Tensor loss = Tensor::empty(Shape{1}, DType::F64), none;
  bce->compute(Tensor::from_vector(logits, Shape{1, 2, 2, 2}), Tensor::from_vector(y, Shape{1, 2, 2}), loss, none);
  double expected = 0;
  for (size_t i = 0; i < z.size(); ++i)
    expected += (y[i] ? std::log1p(std::exp(-z[i])) : std::log1p(std::exp(z[i]))) / double(z.size());
  EXPECT_NEAR(value(loss), expected, 1e-14);
  o.targets = LossOptions::Targets::Masks;
  test::expect_error([&] { make_loss("ce+0.5*bce", o); }, {"bce needs --binary"});
}

TEST(Loss, RefusesBadSpecifications) {
  test::expect_error([] { make_loss("ce+lovasz"); }, {"unknown loss 'lovasz'"});
  test::expect_error([] { make_loss("x*dice"); }, {"bad weight"});
  test::expect_error([] { make_loss("-1*dice"); }, {"bad weight"});
  test::expect_error([] { make_loss(""); }, {"empty"});
}

TEST(LossGpu, CeDiceMatchesTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Batch cpu = make_batch(DType::F32), gpu = make_batch(DType::F32, Device::cuda(0));
  auto loss_fn = make_loss("ce+dice");
  // Both sides poisoned (NaN): an element that neither writes fails close().
  Tensor l_cpu = poisoned(Shape{1}, DType::F32, Device::cpu()), g_cpu = poisoned(cpu.logits.shape(), DType::F32, Device::cpu());
  Tensor l_gpu = poisoned(Shape{1}, DType::F32, Device::cuda(0));
  Tensor g_gpu = poisoned(gpu.logits.shape(), DType::F32, Device::cuda(0));
  loss_fn->compute(cpu.logits, cpu.labels, l_cpu, g_cpu, 1.0);
  loss_fn->compute(gpu.logits, gpu.labels, l_gpu, g_gpu, 1.0);
  EXPECT_TRUE(test::close(l_gpu, l_cpu, 1e-5, "ce+dice loss", 1));
  EXPECT_TRUE(test::close(g_gpu, g_cpu, 1e-5, "ce+dice gradient", 1));
}

}  // namespace
}  // namespace cuseg
