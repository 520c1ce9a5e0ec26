// Channel dropout (Dropout2d) and drop path (stochastic depth): the mask's rule and statistics,
// whole planes or samples kept or zeroed, the relation to efficientnet_pytorch's
// floor(keep_prob + U), backward, p = 0 and 1, bad input, the GPU's mask bit for bit.
#include <gtest/gtest.h>

#include <cmath>

#include "cuseg/core/philox.h"
#include "cuseg/kernels/dropout.h"
#include "error_matchers.h"
#include "test_util.h"
#include "verify/registry.h"

namespace cuseg {
namespace {

using test::expect_error;

using Forward = void (*)(const Tensor&, Tensor&, Tensor&, const DropoutParams&, Backend);
using Backward = void (*)(const Tensor&, const Tensor&, Tensor&, const DropoutParams&, Backend);

struct Kind {
  const char* name;
  Forward forward;
  Backward backward;
  bool per_channel;
};

const Kind kKinds[] = {{"dropout2d", dropout2d_forward, dropout2d_backward, true},
                       {"drop_path", drop_path_forward, drop_path_backward, false}};

class GroupDropout : public ::testing::TestWithParam<Kind> {};

// Mask entry i = n·G + g is kept exactly when philox_uniform01(seed, offset + i) ≥ p, and then
// the whole plane (or sample) is x/(1 − p), else 0; the same y is efficientnet_pytorch's
// x / keep_prob · floor(keep_prob + U) with U those uniforms. Over 24576 draws at p = 0.3 the
// kept fraction is within 5 standard deviations of 0.7.
TEST_P(GroupDropout, KeepsWholePlanesWithProbabilityOneMinusP) {
  const Kind k = GetParam();
  const Shape s = k.per_channel ? Shape{96, 2, 3, 256} : Shape{24576, 1, 2, 3};
  const Tensor x = test::random(s, 3, 1, 2);
  const Shape ms = group_dropout_mask_shape(s, k.per_channel);
  Tensor y = Tensor::empty(s, DType::F64), mask = Tensor::empty(ms, DType::U8);
  const DropoutParams p{0.3, 42, 1000};
  k.forward(x, y, mask, p, Backend::Auto);
  const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  const std::vector<uint8_t> mv = mask.to_vector<uint8_t>();
  ASSERT_EQ(int64_t(mv.size()), ms.numel());
  int64_t kept = 0;
  for (size_t i = 0; i < mv.size(); ++i) {
    const double u = philox_uniform01(p.seed, p.offset + i);
    ASSERT_EQ(mv[i], u >= p.p ? 1 : 0) << "mask entry " << i;
    kept += mv[i];
  }
  const int64_t channels = s[3], groups = ms[3], plane = s[1] * s[2] * s[3];
  const double keep_prob = 1 - p.p;
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t entry =
        size_t(int64_t(i) / plane * groups + (groups == 1 ? 0 : int64_t(i) % channels));
    ASSERT_EQ(yv[i], mv[entry] ? xv[i] * (1 / keep_prob) : 0.0) << "element " << i;
    const double u = philox_uniform01(p.seed, p.offset + entry);
    ASSERT_NEAR(yv[i], xv[i] / keep_prob * std::floor(keep_prob + u), 1e-15)
        << "drop_connect's formula, element " << i;
  }
  const double n = double(mv.size()), sd = std::sqrt(0.7 * 0.3 / n);
  EXPECT_NEAR(double(kept) / n, 0.7, 5 * sd);

  Tensor dy = test::random(s, 4), dx = Tensor::full(s, std::nan(""), DType::F64);
  k.backward(dy, mask, dx, p, Backend::Auto);
  const std::vector<double> dyv = dy.to_vector<double>(), dxv = dx.to_vector<double>();
  for (size_t i = 0; i < dyv.size(); ++i) {
    const size_t entry =
        size_t(int64_t(i) / plane * groups + (groups == 1 ? 0 : int64_t(i) % channels));
    ASSERT_EQ(dxv[i], mv[entry] ? dyv[i] * (1 / keep_prob) : 0.0) << "dx element " << i;
  }
}

TEST_P(GroupDropout, PZeroKeepsAllAndPOneDropsAll) {
  const Kind k = GetParam();
  const Shape s{3, 4, 5, 6};
  const Tensor x = test::random(s, 5);
  Tensor y = Tensor::empty(s, DType::F64),
         mask = Tensor::empty(group_dropout_mask_shape(s, k.per_channel), DType::U8);
  k.forward(x, y, mask, {0.0, 1, 0}, Backend::Auto);
  EXPECT_TRUE(test::identical(y, x, "p = 0 keeps everything", 1));
  k.forward(x, y, mask, {1.0, 1, 0}, Backend::Auto);
  EXPECT_TRUE(test::identical(y, Tensor::zeros(s, DType::F64), "p = 1 drops everything", 1));
}

TEST_P(GroupDropout, RefusesBadInput) {
  const Kind k = GetParam();
  const Shape s{2, 3, 3, 4};
  Tensor x = Tensor::zeros(s), y = Tensor::zeros(s);
  Tensor mask = Tensor::zeros(group_dropout_mask_shape(s, k.per_channel), DType::U8);
  const std::string fwd = std::string(k.name) + "_forward", bwd = std::string(k.name) + "_backward";
  expect_error(
      [&] {
        k.forward(x, y, mask, {1.5, 0, 0}, Backend::Auto);
      },
      {fwd.c_str(), "probability"});
  expect_error([&] { k.forward(x, y, y, {0.5, 0, 0}, Backend::Auto); }, {fwd.c_str(), "mask"});
  // The other kind's mask: [N,1,1,1] for channel dropout, [N,1,1,C] for drop path.
  Tensor other = Tensor::zeros(group_dropout_mask_shape(s, !k.per_channel), DType::U8);
  expect_error([&] { k.forward(x, y, other, {0.5, 0, 0}, Backend::Auto); }, {fwd.c_str(), "mask"});
  Tensor wrong = Tensor::zeros(Shape{2, 3, 3, 5});
  expect_error([&] { k.forward(x, wrong, mask, {0.5, 0, 0}, Backend::Auto); }, {fwd.c_str()});
  Tensor flat = Tensor::zeros(Shape{2, 36});
  expect_error([&] { k.forward(flat, flat, mask, {0.5, 0, 0}, Backend::Auto); }, {fwd.c_str()});
  expect_error([&] { k.backward(x, other, y, {0.5, 0, 0}, Backend::Auto); }, {bwd.c_str(), "mask"});
}

INSTANTIATE_TEST_SUITE_P(Kinds, GroupDropout, ::testing::ValuesIn(kKinds),
                         [](const auto& info) { return std::string(info.param.name); });

class GroupDropoutGpu : public ::testing::TestWithParam<Kind> {};

TEST_P(GroupDropoutGpu, MaskIsBitIdenticalToTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Kind k = GetParam();
  const Device gpu = Device::cuda(0);
  const Shape s{5, 13, 11, 7}, ms = group_dropout_mask_shape(s, k.per_channel);
  const Tensor x = test::random(s, 5, -1, 1, DType::F32);
  Tensor y = poisoned(s, DType::F32, Device::cpu()), m = poisoned(ms, DType::U8, Device::cpu());
  Tensor yg = poisoned(s, DType::F32, gpu), mg = poisoned(ms, DType::U8, gpu);
  const DropoutParams p{0.45, 77, 123456789};
  k.forward(x, y, m, p, Backend::Auto);
  k.forward(x.to(gpu), yg, mg, p, Backend::Auto);
  ASSERT_TRUE(test::all_written(m, "cpu mask"));
  EXPECT_TRUE(test::identical(mg, m, "mask", 77));
  EXPECT_TRUE(test::identical(yg, y, "output", 77));
}

INSTANTIATE_TEST_SUITE_P(Kinds, GroupDropoutGpu, ::testing::ValuesIn(kKinds),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cuseg
