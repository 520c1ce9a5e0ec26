// Initializers (PyTorch's bounds and deviations, fans of KRSC weights, identical on every
// device) and whole-tensor reductions.
#include <gtest/gtest.h>

#include <cmath>

#include "cuseg/kernels/init.h"
#include "cuseg/kernels/reduce.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

TEST(Init, FansOfKrscWeightsAndGains) {
  const Fans f = fans_of(Shape{64, 3, 3, 32});
  EXPECT_EQ(f.in, 3 * 3 * 32);
  EXPECT_EQ(f.out, 64 * 3 * 3);
  EXPECT_EQ(fans_of(Shape{10, 4}).in, 4);
  EXPECT_DOUBLE_EQ(init_gain(ActivationKind::Relu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init_gain(ActivationKind::LeakyRelu, std::sqrt(5.0)), std::sqrt(1.0 / 3));
  EXPECT_DOUBLE_EQ(init_gain(ActivationKind::Tanh), 5.0 / 3);
  EXPECT_DOUBLE_EQ(init_gain(ActivationKind::Silu), std::sqrt(2.0));  // as ReLU: PyTorch has no gain for it
}

TEST(Init, DrawsWithinPyTorchsBoundsAndDeviations) {
  Tensor w = Tensor::empty(Shape{64, 3, 3, 32}, DType::F64);
  const Fans f = fans_of(w.shape());
  kaiming_uniform(w, f.in, init_gain(ActivationKind::Relu), 1);
  const double bound = std::sqrt(2.0) * std::sqrt(3.0 / f.in);
  double sq = 0;
  for (double v : w.to_vector<double>()) {
    ASSERT_LE(std::abs(v), bound);
    sq += v * v;
  }
  // U(−b, b) has variance b²/3: here 2/fan_in, He's variance.
  EXPECT_NEAR(sq / double(w.numel()), 2.0 / f.in, 0.05 * 2.0 / f.in);
  xavier_normal(w, f, 1.0, 2);
  sq = 0;
  for (double v : w.to_vector<double>()) sq += v * v;
  EXPECT_NEAR(sq / double(w.numel()), 2.0 / (f.in + f.out), 0.05 * 2.0 / (f.in + f.out));
  test::expect_error([&] { kaiming_uniform(w, 0, 1, 1); }, {"kaiming_uniform", "fan"});
}

TEST(Reduce, SumMeanAndNorm) {
  Tensor x = Tensor::from_vector(std::vector<double>{3, -4, 0, 1}, Shape{2, 2});
  Tensor out = Tensor::empty(Shape{1}, DType::F64);
  reduce_sum(x, out);
  EXPECT_EQ(out.to_vector<double>()[0], 0);
  reduce_mean(x, out);
  EXPECT_EQ(out.to_vector<double>()[0], 0);
  reduce_l2_norm(x, out);
  EXPECT_DOUBLE_EQ(out.to_vector<double>()[0], std::sqrt(26.0));
  Tensor wrong = Tensor::empty(Shape{2}, DType::F64);
  test::expect_error([&] { reduce_sum(x, wrong); }, {"reduce_sum", "out"});
}

TEST(InitGpu, UniformInitIsIdenticalOnTheGpu) {
  CUSEG_REQUIRE_GPU();
  Tensor cpu = Tensor::empty(Shape{32, 3, 3, 16}), gpu = Tensor::empty(Shape{32, 3, 3, 16}, DType::F32, Device::cuda(0));
  kaiming_uniform(cpu, 144, 1.0, 7);
  kaiming_uniform(gpu, 144, 1.0, 7);
  EXPECT_TRUE(test::identical(gpu, cpu, "kaiming_uniform on the GPU", 7));
}

}  // namespace
}  // namespace cuseg
