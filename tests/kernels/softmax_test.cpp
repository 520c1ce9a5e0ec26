// Softmax, log-softmax and softmax cross-entropy: hand-computed values, PyTorch's definition of
// the weighted, ignoring mean, stability at 1e4, gradient checks in double, bad input.
#include "cuseg/kernels/softmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "verify/registry.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::dot;
using test::expect_error;

TEST(Softmax, MatchesHandComputedValues) {
  Tensor x = Tensor::from_vector(std::vector<double>{0, std::log(3.0), 5, 5}, Shape{2, 2});
  Tensor y = Tensor::empty(Shape{2, 2}, DType::F64);
  softmax_forward(x, y);
  const std::vector<double> v = y.to_vector<double>();
  EXPECT_NEAR(v[0], 0.25, 1e-15);
  EXPECT_NEAR(v[1], 0.75, 1e-15);
  EXPECT_NEAR(v[2], 0.5, 1e-15);
  log_softmax_forward(x, y);
  EXPECT_NEAR(y.to_vector<double>()[0], std::log(0.25), 1e-15);
}

TEST(Softmax, StableForLogitsOfMagnitude1e4) {
  Tensor x =
      Tensor::from_vector(std::vector<float>{1e4f, -1e4f, 0, -1e4f, -1e4f, -1e4f}, Shape{2, 3});
  Tensor y = Tensor::empty(Shape{2, 3});
  softmax_forward(x, y);
  const std::vector<float> v = y.to_vector<float>();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], 0.0f);
  EXPECT_NEAR(v[3], 1.0f / 3, 1e-7);
  log_softmax_forward(x, y);
  EXPECT_EQ(y.to_vector<float>()[1], -2e4f);

  Tensor labels = Tensor::from_vector(std::vector<int32_t>{1, 0}, Shape{2});
  Tensor loss = Tensor::empty(Shape{1}), weight_sum = Tensor::empty(Shape{1});
  softmax_cross_entropy_forward(x, labels, Tensor(), loss, weight_sum);
  EXPECT_NEAR(loss.to_vector<float>()[0], (2e4 + std::log(3.0)) / 2, 1e-2);
  Tensor d = Tensor::empty(Shape{2, 3});
  softmax_cross_entropy_backward(x, labels, Tensor(), weight_sum, d);
  for (float e : d.to_vector<float>()) EXPECT_TRUE(std::isfinite(e));
  EXPECT_NEAR(d.to_vector<float>()[1], -0.5f, 1e-7);
}

// The loss written out as PyTorch defines it, for a check independent of the kernels.
double cross_entropy_by_definition(const std::vector<double>& x, const std::vector<int>& labels,
                                   const std::vector<double>& w, int classes, int ignore) {
  double num = 0, den = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == ignore) continue;
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(x[i * classes + size_t(c)]);
    const double weight = w.empty() ? 1.0 : w[size_t(labels[i])];
    num += weight * -std::log(std::exp(x[i * classes + size_t(labels[i])]) / sum);
    den += weight;
  }
  return num / den;
}

TEST(SoftmaxCrossEntropy, FollowsPyTorchsWeightedMeanWithIgnoredPixels) {
  const std::vector<double> x = {0.1, 2.0, -1.0, 0.5, 0.5, 0.5, 3.0, -2.0, 1.0, -0.3, 0.2, 0.9};
  const std::vector<int> labels = {1, 255, 0, 2};
  const std::vector<double> w = {0.2, 1.5, 3.0};
  Tensor xt = Tensor::from_vector(x, Shape{1, 2, 2, 3});
  Tensor lt = Tensor::from_vector(std::vector<uint8_t>{1, 255, 0, 2}, Shape{1, 2, 2});
  Tensor loss = Tensor::empty(Shape{1}, DType::F64),
         weight_sum = Tensor::empty(Shape{1}, DType::F64);
  softmax_cross_entropy_forward(xt, lt, Tensor::from_vector(w, Shape{3}), loss, weight_sum);
  EXPECT_NEAR(loss.to_vector<double>()[0], cross_entropy_by_definition(x, labels, w, 3, 255),
              1e-14);
  EXPECT_DOUBLE_EQ(weight_sum.to_vector<double>()[0], 1.5 + 0.2 + 3.0);
  softmax_cross_entropy_forward(xt, lt, Tensor(), loss, weight_sum);
  EXPECT_NEAR(loss.to_vector<double>()[0], cross_entropy_by_definition(x, labels, {}, 3, 255),
              1e-14);
  EXPECT_DOUBLE_EQ(weight_sum.to_vector<double>()[0], 3);
}

TEST(SoftmaxCrossEntropy, AllIgnoredGivesZeroLossAndGradient) {
  Tensor x = test::random(Shape{1, 2, 2, 4}, 1);
  Tensor labels = Tensor::full(Shape{1, 2, 2}, 255, DType::U8);
  Tensor loss = Tensor::empty(Shape{1}, DType::F64),
         weight_sum = Tensor::empty(Shape{1}, DType::F64);
  softmax_cross_entropy_forward(x, labels, Tensor(), loss, weight_sum);
  EXPECT_EQ(loss.to_vector<double>()[0], 0);
  EXPECT_EQ(weight_sum.to_vector<double>()[0], 0);
  Tensor d = Tensor::full(x.shape(), 7, DType::F64);
  softmax_cross_entropy_backward(x, labels, Tensor(), weight_sum, d);
  for (double v : d.to_vector<double>()) EXPECT_EQ(v, 0);
}

class SoftmaxGradients : public ::testing::TestWithParam<Shape> {};

TEST_P(SoftmaxGradients, BackwardMatchesFiniteDifferences) {
  const Shape s = GetParam();
  const Tensor x = test::random(s, 21, -3, 3), g = test::random(s, 22);
  for (bool log : {false, true}) {
    auto fwd = log ? log_softmax_forward : softmax_forward;
    auto bwd = log ? log_softmax_backward : softmax_backward;
    auto loss = [&](const Tensor& xx) {
      Tensor y = Tensor::empty(s, DType::F64);
      fwd(xx, y, Backend::Auto);
      return dot(y, g);
    };
    Tensor y = Tensor::empty(s, DType::F64), dx = Tensor::full(s, std::nan(""), DType::F64);
    fwd(x, y, Backend::Auto);
    bwd(y, g, dx, Backend::Auto);
    EXPECT_TRUE(test::gradcheck(loss, x, dx, log ? "log_softmax dx" : "softmax dx", 200));
  }

  // Cross-entropy with class weights, some ignored pixels and label smoothing; the upstream
  // gradient is 0.75.
  const int classes = int(s[s.rank() - 1]);
  std::vector<int32_t> labels(size_t(x.numel() / classes));
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = i % 5 == 3 ? -1 : int32_t((i * 7) % size_t(classes));
  Shape ls = s.rank() == 4 ? Shape{s[0], s[1], s[2]} : Shape{s[0]};
  const Tensor lt = Tensor::from_vector(labels, ls), w = test::random(Shape{classes}, 23, 0.5, 2);
  const SoftmaxCrossEntropyParams p{-1, 0.15};
  auto ce = [&](const Tensor& xx) {
    Tensor loss = Tensor::empty(Shape{1}, DType::F64), ws = Tensor::empty(Shape{1}, DType::F64);
    softmax_cross_entropy_forward(xx, lt, w, loss, ws, p);
    return 0.75 * loss.to_vector<double>()[0];
  };
  Tensor loss = Tensor::empty(Shape{1}, DType::F64), ws = Tensor::empty(Shape{1}, DType::F64);
  softmax_cross_entropy_forward(x, lt, w, loss, ws, p);
  Tensor dx = Tensor::full(s, std::nan(""), DType::F64);
  softmax_cross_entropy_backward(x, lt, w, ws, dx, 0.75, p);
  EXPECT_TRUE(test::gradcheck(ce, x, dx, "softmax_cross_entropy dlogits", 200));
}

INSTANTIATE_TEST_SUITE_P(Shapes, SoftmaxGradients,
                         ::testing::Values(Shape{7, 1}, Shape{1, 3, 5, 2}, Shape{2, 3, 3, 5},
                                           Shape{1, 2, 2, 40}));

TEST(SoftmaxCrossEntropy, RefusesBadInput) {
  Tensor x = Tensor::zeros(Shape{1, 2, 2, 3});
  Tensor labels = Tensor::zeros(Shape{1, 2, 2}, DType::U8);
  Tensor loss = Tensor::empty(Shape{1}), ws = Tensor::empty(Shape{1});
  Tensor bad = Tensor::from_vector(std::vector<uint8_t>{0, 3, 1, 255}, Shape{1, 2, 2});
  expect_error([&] { softmax_cross_entropy_forward(x, bad, Tensor(), loss, ws); },
               {"softmax_cross_entropy_forward", "1 label(s) outside [0, 3)"});
  expect_error(
      [&] {
        softmax_cross_entropy_forward(x, Tensor::zeros(Shape{1, 2, 3}, DType::U8), Tensor(), loss,
                                      ws);
      },
      {"softmax_cross_entropy_forward", "labels must have"});
  expect_error(
      [&] {
        softmax_cross_entropy_forward(x, Tensor::zeros(Shape{1, 2, 2}), Tensor(), loss, ws);
      },
      {"u8 or i32"});
  expect_error([&] { softmax_cross_entropy_forward(x, labels, Tensor::zeros(Shape{4}), loss, ws); },
               {"class_weights"});
  expect_error(
      [&] { softmax_cross_entropy_forward(x, labels, Tensor(), loss, ws, {}, Backend::Cudnn); },
      {"softmax_cross_entropy_forward", "cudnn backend needs CUDA tensors"});
  Tensor d = Tensor::empty(Shape{1, 2, 2, 2});
  expect_error([&] { softmax_cross_entropy_backward(x, labels, Tensor(), ws, d); }, {"dlogits"});
  Tensor y = Tensor::empty(Shape{1, 2, 2, 4});
  expect_error([&] { softmax_forward(x, y); }, {"softmax_forward", "shapes differ"});
}

TEST(SoftmaxCrossEntropyGpu, RefusesInvalidLabelsOnTheGpu) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  Tensor x = Tensor::zeros(Shape{1, 2, 2, 3}, DType::F32, gpu);
  Tensor bad = Tensor::from_vector(std::vector<int32_t>{0, 3, -5, -100}, Shape{1, 2, 2}, gpu);
  Tensor loss = Tensor::empty(Shape{1}, DType::F32, gpu),
         ws = Tensor::empty(Shape{1}, DType::F32, gpu);
  expect_error([&] { softmax_cross_entropy_forward(x, bad, Tensor(), loss, ws, {-100}); },
               {"softmax_cross_entropy_forward", "2 label(s)"});
}

// Masked classes (−∞ logits) in rows of more classes than a warp has lanes, so that each lane
// holds several of a row's values. A lane whose first value was −∞ computed exp(−∞ − (−∞)) = NaN
// and, at its next finite value, carried the NaN into the whole row. The CPU reference is the
// definition. (A row of only −∞ has no softmax: the reference gives NaN there, so the test
// leaves it out.)
TEST(SoftmaxGpu, MatchesTheReferenceWithMinusInfinityLogitsAndManyClasses) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const double inf = std::numeric_limits<double>::infinity();
  for (const int classes : {40, 70}) {
    const uint64_t seed = uint64_t(classes);
    const int64_t rows = 64;
    std::vector<double> v = test::random(Shape{rows, classes}, seed, -4, 4).to_vector<double>();
    auto at = [&](int64_t r, int c) -> double& { return v[size_t(r * classes + c)]; };
    for (int c = 0; c < 32; ++c) at(0, c) = -inf;           // the first value of every lane
    for (int c = 0; c < classes; c += 2) at(1, c) = -inf;   // every other class
    for (int c = 0; c + 1 < classes; ++c) at(2, c) = -inf;  // all but the last class
    for (int64_t r = 3; r < rows; ++r) {
      at(r, int(r * 7 % classes)) = -inf;
      at(r, int((r * 13 + 5) % classes)) = -inf;
    }
    std::vector<int32_t> labels(static_cast<size_t>(rows));  // each on a finite logit
    for (int64_t r = 0; r < rows; ++r) {
      int c = int((r * 3 + 1) % classes);
      while (at(r, c) == -inf) c = (c + 1) % classes;
      labels[size_t(r)] = c;
    }
    const Shape shape{rows, classes};
    const Tensor xf = Tensor::from_vector(v, shape).to(DType::F32);
    const Tensor x = xf.to(DType::F64), xg = xf.to(gpu);
    const Tensor lab = Tensor::from_vector(labels, Shape{rows}), lab_g = lab.to(gpu);
    const std::string n = "classes " + std::to_string(classes);

    Tensor ref = poisoned(shape, DType::F64, Device::cpu()), got = poisoned(shape, DType::F32, gpu);
    softmax_forward(x, ref);
    softmax_forward(xg, got, Backend::Cuda);
    EXPECT_TRUE(test::close(got, ref, 1e-5, "softmax_forward, " + n, seed));
    // log(0) is −∞ where a logit is: the one comparison here that must match infinities, and so
    // the one where the reference must be seen to have no NaN (its poison) left.
    ref = poisoned(shape, DType::F64, Device::cpu());
    got = poisoned(shape, DType::F32, gpu);
    log_softmax_forward(x, ref);
    log_softmax_forward(xg, got, Backend::Cuda);
    const std::vector<double> log_ref = ref.to_vector<double>();
    EXPECT_EQ(std::count_if(log_ref.begin(), log_ref.end(), [](double e) { return std::isnan(e); }), 0);
    EXPECT_TRUE(test::close(got, ref, 1e-5, "log_softmax_forward, " + n, seed, NonFinite::MatchSame));

    Tensor loss_ref = poisoned(Shape{1}, DType::F64, Device::cpu()),
           ws_ref = poisoned(Shape{1}, DType::F64, Device::cpu());
    Tensor loss = poisoned(Shape{1}, DType::F32, gpu), ws = poisoned(Shape{1}, DType::F32, gpu);
    softmax_cross_entropy_forward(x, lab, Tensor(), loss_ref, ws_ref);
    softmax_cross_entropy_forward(xg, lab_g, Tensor(), loss, ws, {}, Backend::Cuda);
    EXPECT_TRUE(test::close(loss, loss_ref, 1e-5, "softmax_cross_entropy_forward, " + n, seed));
    Tensor d_ref = poisoned(shape, DType::F64, Device::cpu()), d = poisoned(shape, DType::F32, gpu);
    softmax_cross_entropy_backward(x, lab, Tensor(), ws_ref, d_ref);
    softmax_cross_entropy_backward(xg, lab_g, Tensor(), ws, d, 1.0, {}, Backend::Cuda);
    EXPECT_TRUE(test::close(d, d_ref, 1e-5, "softmax_cross_entropy_backward, " + n, seed));
  }
}

}  // namespace
}  // namespace cuseg
