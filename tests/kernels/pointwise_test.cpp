// Activations, elementwise arithmetic and dropout: hand values, stability, in-place use,
// gradient checks in double, dropout's statistics and determinism, bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/concat.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/elementwise.h"
#include "verify/registry.h"
#include "cuseg/kernels/upsample.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

std::vector<double> apply(ActivationKind kind, std::vector<double> x, double slope = 0.1) {
  Tensor t = Tensor::from_vector(x, Shape{int64_t(x.size())});
  activation_forward(t, t, {kind, slope});  // in place
  return t.to_vector<double>();
}

TEST(Activation, MatchesHandComputedValues) {
  EXPECT_EQ(apply(ActivationKind::Relu, {-1, 0, 2.5}), (std::vector<double>{0, 0, 2.5}));
  EXPECT_EQ(apply(ActivationKind::LeakyRelu, {-2, 3}), (std::vector<double>{-0.2, 3}));
  const std::vector<double> s = apply(ActivationKind::Sigmoid, {0, std::log(3.0), -800, 800});
  EXPECT_DOUBLE_EQ(s[0], 0.5);
  EXPECT_NEAR(s[1], 0.75, 1e-15);
  EXPECT_EQ(s[2], 0.0);  // no overflow for large |x|
  EXPECT_EQ(s[3], 1.0);
  EXPECT_NEAR(apply(ActivationKind::Tanh, {0.5})[0], std::tanh(0.5), 1e-16);
}

// SiLU at the values σ has rules for: ±0 (y keeps the sign of zero, dy/dx = 1/2), large |x|
// (−0 and x: nothing overflows; dy/dx 0 and 1), ±∞ (∞, and NaN where ∞·0 arises, as PyTorch's
// F.silu gives), in double and in float (the fast path where the build has it).
TEST(Activation, SiluLimitsAndSignedZero) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> x = {0.0, -0.0, 1.0, -1.0, 40, -40, 800, -800, inf, -inf};
  const std::vector<double> y = apply(ActivationKind::Silu, x);
  EXPECT_EQ(y[0], 0.0);
  EXPECT_TRUE(std::signbit(y[1])) << "silu(−0) is −0·σ(−0) = −0";
  EXPECT_NEAR(y[2], 1 / (1 + std::exp(-1.0)), 1e-16);
  EXPECT_NEAR(y[3], -1 / (1 + std::exp(1.0)), 1e-16);
  EXPECT_EQ(y[4], 40.0);  // 1 + e^−40 rounds to 1
  EXPECT_NEAR(y[5], -40 * std::exp(-40.0), 1e-30);
  EXPECT_EQ(y[6], 800.0);
  EXPECT_EQ(y[7], 0.0);
  EXPECT_TRUE(std::signbit(y[7]));
  EXPECT_EQ(y[8], inf);
  EXPECT_TRUE(std::isnan(y[9]));

  const Tensor xt = Tensor::from_vector(x, Shape{int64_t(x.size())});
  const Tensor dy = Tensor::full(xt.shape(), 1.0, DType::F64);
  Tensor yt = xt.clone(), dx = xt.clone();
  activation_forward(xt, yt, {ActivationKind::Silu});
  activation_backward(xt, yt, dy, dx, {ActivationKind::Silu});
  const std::vector<double> d = dx.to_vector<double>();
  EXPECT_EQ(d[0], 0.5);
  EXPECT_EQ(d[1], 0.5);
  const double s = 1 / (1 + std::exp(-1.0));
  EXPECT_NEAR(d[2], s * (1 + (1 - s)), 1e-16);
  EXPECT_NEAR(d[4], 1.0, 1e-15);  // 1 + 40·e^−40: the 1 − σ term kept, not cancelled
  EXPECT_NEAR(d[5], -39 * std::exp(-40.0), 1e-28);
  EXPECT_EQ(d[6], 1.0);
  EXPECT_EQ(d[7], 0.0);
  EXPECT_TRUE(std::isnan(d[8]) && std::isnan(d[9]));

  // Float: the same limits, no NaN or ∞ but those, none from an overflowing exponential.
  const Tensor xf = xt.to(DType::F32);
  Tensor yf = xf.clone(), dxf = xf.clone();
  activation_forward(xf, yf, {ActivationKind::Silu});
  activation_backward(xf, yf, dy.to(DType::F32), dxf, {ActivationKind::Silu});
  const std::vector<double> yfv = yf.to(DType::F64).to_vector<double>(), dfv = dxf.to(DType::F64).to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    for (const auto& [got, want] : {std::pair{yfv[i], y[i]}, std::pair{dfv[i], d[i]}}) {
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(got)) << "x = " << x[i];
      else if (std::isinf(want))
        EXPECT_EQ(got, want) << "x = " << x[i];
      else
        EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::abs(want))) << "x = " << x[i];
    }
  }
}

class ActivationGradients : public ::testing::TestWithParam<ActivationKind> {};

TEST_P(ActivationGradients, BackwardMatchesFiniteDifferences) {
  const ActivationParams p{GetParam(), 0.1};
  const Shape s{2, 3, 4, 5};
  const Tensor x = test::random(s, 1, -3, 3), g = test::random(s, 2);
  auto loss = [&](const Tensor& xx) {
    Tensor y = Tensor::empty(s, DType::F64);
    activation_forward(xx, y, p);
    return test::dot(y, g);
  };
  Tensor y = Tensor::empty(s, DType::F64), dx = Tensor::full(s, std::nan(""), DType::F64);
  activation_forward(x, y, p);
  activation_backward(x, y, g, dx, p);  // the overload every kind takes
  EXPECT_TRUE(test::gradcheck(loss, x, dx, activation_name(GetParam()), 120));
  if (activation_needs_input(p.kind)) return;
  Tensor from_y = Tensor::full(s, std::nan(""), DType::F64);
  activation_backward(y, g, from_y, p);
  EXPECT_TRUE(test::identical(from_y, dx, "backward from y alone", 0));
}

INSTANTIATE_TEST_SUITE_P(Kinds, ActivationGradients,
                         ::testing::Values(ActivationKind::Relu, ActivationKind::LeakyRelu, ActivationKind::Sigmoid,
                                           ActivationKind::Tanh, ActivationKind::Silu),
                         [](const auto& info) { return std::string(activation_name(info.param)); });

TEST(Elementwise, AddScaleAxpy) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2}, Shape{2});
  Tensor b = Tensor::from_vector(std::vector<double>{10, 20}, Shape{2});
  add(a, b, a);  // in place
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{11, 22}));
  scale(a, 0.5, b);
  EXPECT_EQ(b.to_vector<double>(), (std::vector<double>{5.5, 11}));
  axpy(2.0, b, a);
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{22, 44}));
}

TEST(Dropout, KeepsOneMinusPScaledAndIsDeterministic) {
  const Shape s{4, 64, 64, 8};
  const Tensor x = test::random(s, 3, 1, 2);
  Tensor y = Tensor::empty(s, DType::F64), mask = Tensor::empty(s, DType::U8);
  const DropoutParams p{0.3, 42, 1000};
  dropout_forward(x, y, mask, p);
  const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  const std::vector<uint8_t> mv = mask.to_vector<uint8_t>();
  int64_t kept = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    kept += mv[i];
    ASSERT_EQ(yv[i], mv[i] ? xv[i] * (1.0 / 0.7) : 0.0);
  }
  // 131072 Bernoulli(0.7) draws: the kept fraction is within 5 standard deviations of 0.7.
  const double n = double(xv.size()), sd = std::sqrt(0.7 * 0.3 / n);
  EXPECT_NEAR(double(kept) / n, 0.7, 5 * sd);

  Tensor again = Tensor::empty(s, DType::F64), mask2 = Tensor::empty(s, DType::U8);
  dropout_forward(x, again, mask2, p);
  EXPECT_TRUE(test::identical(mask2, mask, "same seed and offset", 42));
  dropout_forward(x, again, mask2, {0.3, 42, 1001});
  EXPECT_GT(compare(mask2, mask).mismatches + compare(mask2, mask, 0.5).mismatches, 0);

  Tensor dy = test::random(s, 4), dx = Tensor::full(s, std::nan(""), DType::F64);
  dropout_backward(dy, mask, dx, p);
  const std::vector<double> dyv = dy.to_vector<double>(), dxv = dx.to_vector<double>();
  for (size_t i = 0; i < dyv.size(); ++i) ASSERT_EQ(dxv[i], mv[i] ? dyv[i] * (1.0 / 0.7) : 0.0);

  dropout_forward(x, y, mask, {0.0, 1, 0});
  EXPECT_TRUE(test::identical(y, x, "p = 0 keeps everything", 1));
  dropout_forward(x, y, mask, {1.0, 1, 0});
  EXPECT_TRUE(test::identical(y, Tensor::zeros(s, DType::F64), "p = 1 drops everything", 1));
}

struct ResizeCase {
  Shape x, y;
  UpsampleMode mode;
};

class UpsampleGradients : public ::testing::TestWithParam<ResizeCase> {};

TEST_P(UpsampleGradients, BackwardMatchesFiniteDifferences) {
  const auto& [xs, ys, mode] = GetParam();
  const Tensor x = test::random(xs, 1), g = test::random(ys, 2);
  auto loss = [&](const Tensor& xx) {
    Tensor y = Tensor::empty(ys, DType::F64);
    upsample_forward(xx, y, mode);
    return test::dot(y, g);
  };
  Tensor dx = Tensor::full(xs, std::nan(""), DType::F64);
  upsample_backward(g, dx, mode);
  EXPECT_TRUE(test::gradcheck(loss, x, dx, "upsample dx"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, UpsampleGradients,
                         ::testing::Values(ResizeCase{{1, 3, 4, 2}, {1, 6, 8, 2}, UpsampleMode::Nearest},
                                           ResizeCase{{1, 5, 3, 1}, {1, 7, 8, 1}, UpsampleMode::Nearest},
                                           ResizeCase{{2, 3, 4, 2}, {2, 6, 8, 2}, UpsampleMode::Bilinear},
                                           ResizeCase{{1, 5, 3, 1}, {1, 7, 8, 1}, UpsampleMode::Bilinear},
                                           ResizeCase{{1, 6, 7, 1}, {1, 4, 3, 1}, UpsampleMode::Bilinear},
                                           ResizeCase{{1, 9, 7, 1}, {1, 5, 3, 1}, UpsampleMode::Nearest},
                                           ResizeCase{{2, 3, 4, 2}, {2, 6, 8, 2}, UpsampleMode::BilinearAlignCorners},
                                           ResizeCase{{1, 5, 3, 1}, {1, 7, 8, 1}, UpsampleMode::BilinearAlignCorners},
                                           ResizeCase{{1, 6, 7, 1}, {1, 4, 3, 1}, UpsampleMode::BilinearAlignCorners},
                                           ResizeCase{{1, 6, 7, 2}, {1, 1, 1, 2}, UpsampleMode::BilinearAlignCorners},
                                           ResizeCase{{1, 1, 3, 1}, {1, 4, 5, 1}, UpsampleMode::BilinearAlignCorners}));

TEST(Upsample, BilinearDoublingMatchesHandValues) {
  // One row [0, 4] doubled: sources −0.25→0, 0.25, 0.75, 1.25→(1, clamped): 0, 1, 3, 4.
  Tensor x = Tensor::from_vector(std::vector<double>{0, 4}, Shape{1, 1, 2, 1});
  Tensor y = Tensor::empty(Shape{1, 1, 4, 1}, DType::F64);
  upsample_forward(x, y, UpsampleMode::Bilinear);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 1, 3, 4}));
  upsample_forward(x, y, UpsampleMode::Nearest);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 0, 4, 4}));
  // Corners aligned: sources 0, 1/3, 2/3, 1.
  Tensor z = Tensor::from_vector(std::vector<double>{0, 3}, Shape{1, 1, 2, 1});
  upsample_forward(z, y, UpsampleMode::BilinearAlignCorners);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 1, 2, 3}));
}

TEST(Concat, InterleavesChannelBlocksAndSplitUndoesIt) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2}, Shape{1, 1, 2, 1});
  Tensor b = Tensor::from_vector(std::vector<double>{10, 11, 20, 21}, Shape{1, 1, 2, 2});
  Tensor out = Tensor::empty(Shape{1, 1, 2, 3}, DType::F64);
  concat_channels({a, b}, out);
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{1, 10, 11, 2, 20, 21}));
  std::vector<Tensor> parts = {Tensor::empty(Shape{1, 1, 2, 1}, DType::F64), Tensor::empty(Shape{1, 1, 2, 2}, DType::F64)};
  split_channels(out, parts);
  EXPECT_TRUE(test::identical(parts[0], a, "split part 0", 0));
  EXPECT_TRUE(test::identical(parts[1], b, "split part 1", 0));
  Tensor wrong = Tensor::empty(Shape{1, 1, 2, 4}, DType::F64);
  expect_error([&] { concat_channels({a, b}, wrong); }, {"concat_channels", "3 channels", "4"});
  expect_error([&] { concat_channels({a, Tensor::empty(Shape{1, 2, 2, 2}, DType::F64)}, out); },
               {"concat_channels", "outside the channel dimension"});
}

TEST(Pointwise, RefusesBadInput) {
  Tensor x = Tensor::zeros(Shape{2, 3}), y = Tensor::zeros(Shape{2, 3}), m = Tensor::zeros(Shape{2, 3}, DType::U8);
  Tensor wrong = Tensor::zeros(Shape{3, 2});
  expect_error([&] { activation_forward(x, y, {ActivationKind::LeakyRelu, -0.1}); }, {"activation_forward", "slope"});
  expect_error([&] { activation_forward(x, wrong, {}); }, {"activation_forward", "shapes differ"});
  expect_error([&] { activation_forward(x, y, {ActivationKind::LeakyRelu, 0.1}, Backend::Cudnn); }, {"activation_forward"});
  expect_error([&] { activation_backward(y, x, m, {ActivationKind::Silu}); }, {"activation_backward", "silu", "pass x"});
  Tensor dx = Tensor::zeros(Shape{2, 3});
  expect_error([&] { activation_backward(wrong, y, x, dx, {ActivationKind::Silu}); },
               {"activation_backward", "shapes differ"});
  expect_error([&] { add(x, wrong, y); }, {"add", "shapes differ"});
  expect_error([&] { dropout_forward(x, y, m, {1.5, 0, 0}); }, {"dropout_forward", "probability"});
  expect_error([&] { dropout_forward(x, y, y, {0.5, 0, 0}); }, {"dropout_forward", "mask"});
  Tensor img = Tensor::zeros(Shape{1, 2, 2, 3}), other = Tensor::zeros(Shape{1, 4, 4, 2});
  expect_error([&] { upsample_forward(img, other, UpsampleMode::Bilinear); }, {"upsample_forward", "channels"});
}

TEST(DropoutGpu, MaskIsBitIdenticalToTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const Shape s{3, 33, 31, 7};
  const Tensor x = test::random(s, 5, -1, 1, DType::F32);
  // Both sides poisoned: an output element neither side writes is NaN on both, which identical()
  // fails; a mask element, 255 on both, fails all_written.
  Tensor y = poisoned(s, DType::F32, Device::cpu()), m = poisoned(s, DType::U8, Device::cpu());
  Tensor yg = poisoned(s, DType::F32, gpu), mg = poisoned(s, DType::U8, gpu);
  const DropoutParams p{0.45, 77, 123456789};
  dropout_forward(x, y, m, p);
  dropout_forward(x.to(gpu), yg, mg, p);
  ASSERT_TRUE(test::all_written(m, "cpu dropout mask"));
  EXPECT_TRUE(test::identical(mg, m, "dropout mask", 77));
  EXPECT_TRUE(test::identical(yg, y, "dropout output", 77));
}

}  // namespace
}  // namespace cuseg
