// Batch normalization: hand-computed statistics, running averages, inference, gradient checks of
// the training forward in double (x, γ, β), bad input.
#include "cuseg/kernels/batch_norm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cuseg/config.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

Tensor vec(std::vector<double> v) { return Tensor::from_vector(v, Shape{int64_t(v.size())}); }

TEST(BatchNorm, NormalizesAndUpdatesRunningStatistics) {
  // One channel, values 1, 2, 3, 6: mean 3, biased variance 3.5, unbiased 14/3.
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 6}, Shape{1, 2, 2, 1});
  Tensor y = Tensor::empty(x.shape(), DType::F64), mean = Tensor::empty(Shape{1}, DType::F64);
  Tensor invstd = Tensor::empty(Shape{1}, DType::F64), rm = vec({1.0}), rv = vec({2.0});
  batch_norm_forward_training(x, vec({2.0}), vec({0.5}), y, mean, invstd, rm, rv, {0.0 + 1e-5, 0.25});
  const double s = 1 / std::sqrt(3.5 + 1e-5);
  EXPECT_DOUBLE_EQ(mean.to_vector<double>()[0], 3.0);
  EXPECT_DOUBLE_EQ(invstd.to_vector<double>()[0], s);
  EXPECT_NEAR(y.to_vector<double>()[3], (6 - 3) * s * 2 + 0.5, 1e-14);
  EXPECT_DOUBLE_EQ(rm.to_vector<double>()[0], 0.75 * 1 + 0.25 * 3);
  EXPECT_NEAR(rv.to_vector<double>()[0], 0.75 * 2 + 0.25 * 14.0 / 3, 1e-15);

  Tensor y_eval = Tensor::empty(x.shape(), DType::F64);
  batch_norm_forward_inference(x, vec({2.0}), vec({0.5}), rm, rv, y_eval, {1e-5, 0.25});
  EXPECT_NEAR(y_eval.to_vector<double>()[0], (1 - 1.5) / std::sqrt(rv.to_vector<double>()[0] + 1e-5) * 2 + 0.5, 1e-14);
}

TEST(BatchNorm, BackwardMatchesFiniteDifferences) {
  const Shape s{2, 3, 4, 5}, c{5};
  const Tensor x = test::random(s, 1, -2, 3), gamma = test::random(c, 2, 0.5, 1.5), beta = test::random(c, 3);
  const Tensor g = test::random(s, 4);
  auto loss = [&](const Tensor& xx, const Tensor& gg, const Tensor& bb) {
    Tensor y = Tensor::empty(s, DType::F64), mean = Tensor::empty(c, DType::F64), invstd = Tensor::empty(c, DType::F64);
    Tensor rm = Tensor::zeros(c, DType::F64), rv = Tensor::full(c, 1.0, DType::F64);
    batch_norm_forward_training(xx, gg, bb, y, mean, invstd, rm, rv);
    return test::dot(y, g);
  };
  Tensor y = Tensor::empty(s, DType::F64), mean = Tensor::empty(c, DType::F64), invstd = Tensor::empty(c, DType::F64);
  Tensor rm = Tensor::zeros(c, DType::F64), rv = Tensor::full(c, 1.0, DType::F64);
  batch_norm_forward_training(x, gamma, beta, y, mean, invstd, rm, rv);
  Tensor dx = Tensor::full(s, std::nan(""), DType::F64), dgamma = Tensor::zeros(c, DType::F64), dbeta = Tensor::zeros(c, DType::F64);
  batch_norm_backward(x, g, gamma, mean, invstd, dx, dgamma, dbeta);
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(v, gamma, beta); }, x, dx, "batch_norm dx", 120));
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(x, v, beta); }, gamma, dgamma, "batch_norm dgamma"));
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(x, gamma, v); }, beta, dbeta, "batch_norm dbeta"));
}

// The statistics and inputs of a backward call: x, dy, γ and the forward's saved mean and 1/σ.
struct BackwardInputs {
  Tensor x, dy, gamma, mean, invstd;
};

BackwardInputs backward_inputs(const Shape& s, uint64_t seed) {
  const Shape c{s[3]};
  BackwardInputs in{test::random(s, seed, -2, 3), test::random(s, seed + 1), test::random(c, seed + 2, 0.5, 1.5),
                    Tensor::empty(c, DType::F64), Tensor::empty(c, DType::F64)};
  Tensor y = Tensor::empty(s, DType::F64), rm = Tensor::zeros(c, DType::F64), rv = Tensor::full(c, 1.0, DType::F64);
  batch_norm_forward_training(in.x, in.gamma, test::random(c, seed + 3), y, in.mean, in.invstd, rm, rv);
  return in;
}

// dγ and dβ accumulate (+=), dx is assigned: a second use of the layer, or a second micro-batch,
// adds its contribution to what is there. Every other test starts from zero gradients, where
// "assign" and "add" agree.
TEST(BatchNorm, BackwardAddsToTheParameterGradientsAndAssignsDx) {
  const Shape s{2, 5, 3, 7}, c{7};
  const BackwardInputs in = backward_inputs(s, 11);
  Tensor dx0 = Tensor::empty(s, DType::F64), dgamma0 = Tensor::zeros(c, DType::F64), dbeta0 = Tensor::zeros(c, DType::F64);
  batch_norm_backward(in.x, in.dy, in.gamma, in.mean, in.invstd, dx0, dgamma0, dbeta0);

  constexpr double kStart = 0.375;  // exact, and far from any contribution here
  Tensor dx = Tensor::full(s, std::nan(""), DType::F64);
  Tensor dgamma = Tensor::full(c, kStart, DType::F64), dbeta = Tensor::full(c, kStart, DType::F64);
  batch_norm_backward(in.x, in.dy, in.gamma, in.mean, in.invstd, dx, dgamma, dbeta);
  Tensor expected_dgamma = dgamma0.clone(), expected_dbeta = dbeta0.clone();
  for (int64_t k = 0; k < c[0]; ++k) {
    expected_dgamma.data<double>()[k] += kStart;
    expected_dbeta.data<double>()[k] += kStart;
  }
  EXPECT_TRUE(test::close(dgamma, expected_dgamma, 1e-14, "dgamma from 0.375", 11));
  EXPECT_TRUE(test::close(dbeta, expected_dbeta, 1e-14, "dbeta from 0.375", 11));
  EXPECT_TRUE(test::all_finite(dx, "dx (poisoned before the call)"));
  EXPECT_TRUE(test::identical(dx, dx0, "dx is assigned", 11));
  // The contributions are not small next to the start value, so "add" and "assign" differ.
  EXPECT_GT(compare(dgamma, dgamma0).max_abs, 0.3);
}

TEST(BatchNormGpu, BackwardAddsToTheParameterGradientsLikeTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Shape s{3, 17, 9, 37}, c{37};
  const BackwardInputs in = backward_inputs(s, 12);
  constexpr double kStart = 0.375;
  Tensor dx_ref = Tensor::full(s, std::nan(""), DType::F64);
  Tensor dgamma_ref = Tensor::full(c, kStart, DType::F64), dbeta_ref = Tensor::full(c, kStart, DType::F64);
  batch_norm_backward(in.x, in.dy, in.gamma, in.mean, in.invstd, dx_ref, dgamma_ref, dbeta_ref);
  ASSERT_TRUE(test::all_finite(dx_ref, "reference dx"));
  const Device gpu = Device::cuda(0);
  auto on_gpu = [&](const Tensor& t) { return t.to(DType::F32).to(gpu); };
  for (Backend backend : {Backend::Cuda, Backend::Cudnn}) {
    if (backend == Backend::Cudnn && !CUSEG_HAS_CUDNN) continue;
    const std::string name = backend == Backend::Cudnn ? "cudnn" : "cuda";
    Tensor dx = Tensor::full(s, std::nan(""), DType::F32, gpu);
    Tensor dgamma = Tensor::full(c, kStart, DType::F32, gpu), dbeta = Tensor::full(c, kStart, DType::F32, gpu);
    batch_norm_backward(on_gpu(in.x), on_gpu(in.dy), on_gpu(in.gamma), on_gpu(in.mean), on_gpu(in.invstd), dx, dgamma,
                        dbeta, {}, backend);
    // Sums over every pixel of the batch in float32: 1e-4, as in the registry.
    EXPECT_TRUE(test::close(dgamma, dgamma_ref, 1e-4, name + " dgamma from 0.375", 12));
    EXPECT_TRUE(test::close(dbeta, dbeta_ref, 1e-4, name + " dbeta from 0.375", 12));
    EXPECT_TRUE(test::close(dx, dx_ref, 1e-4, name + " dx", 12));
  }
}

TEST(BatchNorm, RefusesBadInput) {
  Tensor x = Tensor::zeros(Shape{2, 2, 2, 3}), y = Tensor::zeros(Shape{2, 2, 2, 3}), v = Tensor::zeros(Shape{3});
  Tensor m = Tensor::zeros(Shape{3}), s = Tensor::zeros(Shape{3}), rm = Tensor::zeros(Shape{3}), rv = Tensor::full(Shape{3}, 1.0);
  expect_error([&] { batch_norm_forward_training(x, Tensor::zeros(Shape{4}), v, y, m, s, rm, rv); },
               {"batch_norm_forward_training", "gamma", "4 entries for 3 channels"});
  Tensor one = Tensor::zeros(Shape{1, 1, 1, 3}), one_y = Tensor::zeros(Shape{1, 1, 1, 3});
  expect_error([&] { batch_norm_forward_training(one, v, v, one_y, m, s, rm, rv); }, {"more than one value per channel"});
  expect_error([&] { batch_norm_forward_training(x, v, v, y, m, s, rm, rv, {0, 0.1}); }, {"eps"});
  expect_error([&] { batch_norm_forward_training(x, v, v, y, m, s, rm, rv, {1e-5, 1.5}); }, {"momentum"});
}

}  // namespace
}  // namespace cuseg
