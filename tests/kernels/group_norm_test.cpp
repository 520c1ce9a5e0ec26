// Group normalization: hand-computed statistics, gradient checks in double (x, γ, β), the
// accumulating parameter gradients (CPU and GPU), the GPU's determinism, bad input.
#include "cuseg/kernels/group_norm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

Tensor f64(const Shape& s) { return Tensor::full(s, std::nan(""), DType::F64); }

TEST(GroupNorm, NormalizesEachGroupOfEachSample) {
  // One sample, 2×1 pixels, 4 channels in 2 groups: group 0 holds channels 0, 1 at both pixels
  // — 1, 2, 3, 6: mean 3, biased variance 3.5; group 1 holds 10, 10, 10, 10: variance 0.
  Tensor x =
      Tensor::from_vector(std::vector<double>{1, 2, 10, 10, 3, 6, 10, 10}, Shape{1, 2, 1, 4});
  Tensor gamma = Tensor::from_vector(std::vector<double>{2, 3, 4, 5}, Shape{4});
  Tensor beta = Tensor::from_vector(std::vector<double>{0.5, -1, 0.25, 7}, Shape{4});
  Tensor y = f64(x.shape()), mean = f64(Shape{1, 2}), invstd = f64(Shape{1, 2});
  group_norm_forward(x, gamma, beta, y, mean, invstd, {2, 1e-5});
  const double s = 1 / std::sqrt(3.5 + 1e-5);
  EXPECT_EQ(mean.to_vector<double>(), (std::vector<double>{3, 10}));
  EXPECT_DOUBLE_EQ(invstd.to_vector<double>()[0], s);
  EXPECT_DOUBLE_EQ(invstd.to_vector<double>()[1], 1 / std::sqrt(1e-5));
  const std::vector<double> yv = y.to_vector<double>();
  EXPECT_NEAR(yv[0], (1 - 3) * s * 2 + 0.5, 1e-14);
  EXPECT_NEAR(yv[5], (6 - 3) * s * 3 - 1, 1e-14);
  EXPECT_EQ(yv[2], 0.25);  // a constant group: x̂ = 0, y = β
  EXPECT_EQ(yv[7], 7.0);
}

struct GradCase {
  Shape s;
  int groups;
};

class GroupNormGradients : public ::testing::TestWithParam<GradCase> {};

TEST_P(GroupNormGradients, BackwardMatchesFiniteDifferences) {
  const Shape s = GetParam().s, c{s[3]}, stats{s[0], GetParam().groups};
  const GroupNormParams p{GetParam().groups, 1e-5};
  const Tensor x = test::random(s, 1, -2, 3), gamma = test::random(c, 2, 0.5, 1.5),
               beta = test::random(c, 3);
  const Tensor g = test::random(s, 4);
  auto loss = [&](const Tensor& xx, const Tensor& gg, const Tensor& bb) {
    Tensor y = f64(s), mean = f64(stats), invstd = f64(stats);
    group_norm_forward(xx, gg, bb, y, mean, invstd, p);
    return test::dot(y, g);
  };
  Tensor y = f64(s), mean = f64(stats), invstd = f64(stats);
  group_norm_forward(x, gamma, beta, y, mean, invstd, p);
  Tensor dx = f64(s), dgamma = Tensor::zeros(c, DType::F64), dbeta = Tensor::zeros(c, DType::F64);
  group_norm_backward(x, g, gamma, mean, invstd, dx, dgamma, dbeta, p);
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(v, gamma, beta); }, x, dx,
                              "group_norm dx", 120));
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(x, v, beta); }, gamma, dgamma,
                              "group_norm dgamma"));
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(x, gamma, v); }, beta, dbeta,
                              "group_norm dbeta"));
}

INSTANTIATE_TEST_SUITE_P(Groups, GroupNormGradients,
                         ::testing::Values(GradCase{{2, 3, 4, 6}, 3},     // 2 channels per group
                                           GradCase{{2, 3, 5, 4}, 1},     // LayerNorm-like
                                           GradCase{{1, 3, 3, 5}, 5},     // InstanceNorm-like
                                           GradCase{{2, 3, 1, 64}, 32}),  // FPN's 32 groups
                         [](const auto& info) { return "G" + std::to_string(info.param.groups); });

struct BackwardInputs {
  Tensor x, dy, gamma, mean, invstd;
};

BackwardInputs backward_inputs(const Shape& s, int groups, uint64_t seed) {
  const Shape c{s[3]}, stats{s[0], groups};
  BackwardInputs in{test::random(s, seed, -2, 3), test::random(s, seed + 1),
                    test::random(c, seed + 2, 0.5, 1.5), f64(stats), f64(stats)};
  Tensor y = f64(s);
  group_norm_forward(in.x, in.gamma, test::random(c, seed + 3), y, in.mean, in.invstd,
                     {groups, 1e-5});
  return in;
}

constexpr double kStart = 0.375;  // exact, and far from any contribution here

// dγ and dβ accumulate (+=), dx is assigned; from zero "assign" and "add" would agree.
TEST(GroupNorm, BackwardAddsToTheParameterGradientsAndAssignsDx) {
  const Shape s{2, 5, 3, 8}, c{8};
  const BackwardInputs in = backward_inputs(s, 4, 11);
  Tensor dx0 = f64(s), dgamma0 = Tensor::zeros(c, DType::F64),
         dbeta0 = Tensor::zeros(c, DType::F64);
  group_norm_backward(in.x, in.dy, in.gamma, in.mean, in.invstd, dx0, dgamma0, dbeta0, {4, 1e-5});
  Tensor dx = f64(s), dgamma = Tensor::full(c, kStart, DType::F64),
         dbeta = Tensor::full(c, kStart, DType::F64);
  group_norm_backward(in.x, in.dy, in.gamma, in.mean, in.invstd, dx, dgamma, dbeta, {4, 1e-5});
  Tensor expected_dgamma = dgamma0.clone(), expected_dbeta = dbeta0.clone();
  for (int64_t k = 0; k < c[0]; ++k) {
    expected_dgamma.data<double>()[k] += kStart;
    expected_dbeta.data<double>()[k] += kStart;
  }
  EXPECT_TRUE(test::close(dgamma, expected_dgamma, 1e-14, "dgamma from 0.375", 11));
  EXPECT_TRUE(test::close(dbeta, expected_dbeta, 1e-14, "dbeta from 0.375", 11));
  EXPECT_TRUE(test::identical(dx, dx0, "dx is assigned", 11));
  EXPECT_GT(compare(dgamma, dgamma0).max_abs, 0.3);
}

// The GPU's dγ, dβ from 0.375 and its dx against the reference; then a second run bit for bit
// (fixed-order sums, no atomics).
TEST(GroupNormGpu, BackwardAddsLikeTheCpuAndIsDeterministic) {
  CUSEG_REQUIRE_GPU();
  const Shape s{3, 17, 9, 64}, c{64};
  const BackwardInputs in = backward_inputs(s, 32, 12);
  Tensor dx_ref = f64(s), dgamma_ref = Tensor::full(c, kStart, DType::F64),
         dbeta_ref = Tensor::full(c, kStart, DType::F64);
  group_norm_backward(in.x, in.dy, in.gamma, in.mean, in.invstd, dx_ref, dgamma_ref, dbeta_ref,
                      {32, 1e-5});
  const Device gpu = Device::cuda(0);
  auto on_gpu = [&](const Tensor& t) { return t.to(DType::F32).to(gpu); };
  Tensor runs[2][3];
  for (auto& run : runs) {
    Tensor dx = Tensor::full(s, std::nan(""), DType::F32, gpu);
    Tensor dgamma = Tensor::full(c, kStart, DType::F32, gpu),
           dbeta = Tensor::full(c, kStart, DType::F32, gpu);
    group_norm_backward(on_gpu(in.x), on_gpu(in.dy), on_gpu(in.gamma), on_gpu(in.mean),
                        on_gpu(in.invstd), dx, dgamma, dbeta, {32, 1e-5}, Backend::Cuda);
    run[0] = dx, run[1] = dgamma, run[2] = dbeta;
  }
  // Sums over every pixel of the batch in float32: 1e-4, as in the registry.
  EXPECT_TRUE(test::close(runs[0][1], dgamma_ref, 1e-4, "cuda dgamma from 0.375", 12));
  EXPECT_TRUE(test::close(runs[0][2], dbeta_ref, 1e-4, "cuda dbeta from 0.375", 12));
  EXPECT_TRUE(test::close(runs[0][0], dx_ref, 1e-4, "cuda dx", 12));
  for (int k = 0; k < 3; ++k)
    EXPECT_TRUE(test::identical(runs[1][k], runs[0][k], "second run", 12));

  Tensor y[2], mean[2], invstd[2];
  for (int r = 0; r < 2; ++r) {
    y[r] = Tensor::empty(s, DType::F32, gpu),
    mean[r] = Tensor::empty(Shape{3, 32}, DType::F32, gpu);
    invstd[r] = Tensor::empty(Shape{3, 32}, DType::F32, gpu);
    group_norm_forward(on_gpu(in.x), on_gpu(in.gamma), on_gpu(in.gamma), y[r], mean[r], invstd[r],
                       {32, 1e-5});
  }
  EXPECT_TRUE(test::identical(y[1], y[0], "forward, second run", 12));
  EXPECT_TRUE(test::identical(invstd[1], invstd[0], "invstd, second run", 12));
}

TEST(GroupNorm, RefusesBadInput) {
  const Shape s{2, 3, 3, 6};
  Tensor x = Tensor::zeros(s), y = Tensor::zeros(s), v = Tensor::zeros(Shape{6});
  Tensor m = Tensor::zeros(Shape{2, 3}), r = Tensor::zeros(Shape{2, 3});
  Tensor m2 = Tensor::zeros(Shape{2, 2}), y5 = Tensor::zeros(Shape{2, 3, 3, 5}),
         v3 = Tensor::zeros(Shape{3});
  expect_error(
      [&] {
        group_norm_forward(x, v, v, y, m, r, {4, 1e-5});
      },
      {"group_norm_forward", "6 channels do not split into 4 groups"});
  expect_error(
      [&] {
        group_norm_forward(x, v, v, y, m, r, {0, 1e-5});
      },
      {"group_norm_forward", "0 groups"});
  expect_error(
      [&] {
        group_norm_forward(x, Tensor::zeros(Shape{5}), v, y, m, r, {3, 1e-5});
      },
      {"group_norm_forward", "gamma"});
  expect_error(
      [&] {
        group_norm_forward(x, v, v, y, m2, r, {3, 1e-5});
      },
      {"group_norm_forward", "save_mean"});
  expect_error([&] { group_norm_forward(x, v, v, y5, m, r, {3, 1e-5}); }, {"group_norm_forward"});
  expect_error(
      [&] {
        group_norm_forward(Tensor::zeros(Shape{2, 3, 6}), v, v, y, m, r, {3, 1e-5});
      },
      {"group_norm_forward"});
  expect_error(
      [&] {
        group_norm_forward(x, v, v, y, m, r, {3, 0});
      },
      {"group_norm_forward", "eps"});
  Tensor dx = Tensor::zeros(s);
  expect_error(
      [&] {
        group_norm_backward(x, y, v, m, r, dx, v3, v, {3, 1e-5});
      },
      {"group_norm_backward", "dgamma"});
}

}  // namespace
}  // namespace cuseg
