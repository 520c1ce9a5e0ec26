// The broadcast product (kernels/multiply.h): hand values, gradient checks in double for both
// inputs over the broadcast patterns, undefined gradients, in place, bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "cuseg/kernels/multiply.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

TEST(Multiply, BroadcastsChannelAndSpatialFactors) {
  // x [1, 1, 2, 3]: two pixels of three channels.
  const Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{1, 1, 2, 3});
  const Tensor per_channel = Tensor::from_vector(std::vector<double>{10, 100, -1}, Shape{1, 1, 1, 3});
  const Tensor per_pixel = Tensor::from_vector(std::vector<double>{2, -0.5}, Shape{1, 1, 2, 1});
  Tensor y = Tensor::empty(x.shape(), DType::F64);
  multiply_forward(x, per_channel, y);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{10, 200, -3, 40, 500, -6}));
  multiply_forward(x, per_pixel, y);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{2, 4, 6, -2, -2.5, -3}));

  // ds sums dy·x over the repeated axes; dx = dy·s.
  const Tensor dy = Tensor::from_vector(std::vector<double>{1, 1, 1, 2, 2, 2}, Shape{1, 1, 2, 3});
  Tensor dx = Tensor::empty(x.shape(), DType::F64), ds = Tensor::empty(per_channel.shape(), DType::F64);
  multiply_backward(x, per_channel, dy, dx, ds);
  EXPECT_EQ(ds.to_vector<double>(), (std::vector<double>{1 + 8, 2 + 10, 3 + 12}));
  EXPECT_EQ(dx.to_vector<double>(), (std::vector<double>{10, 100, -1, 20, 200, -2}));
  Tensor ds_pixel = Tensor::empty(per_pixel.shape(), DType::F64);
  multiply_backward(x, per_pixel, dy, dx, ds_pixel);
  EXPECT_EQ(ds_pixel.to_vector<double>(), (std::vector<double>{6, 30}));
}

struct GradCase {
  Shape x, s;
};

class MultiplyGradients : public ::testing::TestWithParam<GradCase> {};

TEST_P(MultiplyGradients, BackwardMatchesFiniteDifferences) {
  const auto& [xs, ss] = GetParam();
  const Tensor x = test::random(xs, 1, -2, 2), s = test::random(ss, 2, -2, 2), g = test::random(xs, 3);
  auto loss_x = [&](const Tensor& xx) {
    Tensor y = Tensor::empty(xs, DType::F64);
    multiply_forward(xx, s, y);
    return test::dot(y, g);
  };
  auto loss_s = [&](const Tensor& sv) {
    Tensor y = Tensor::empty(xs, DType::F64);
    multiply_forward(x, sv, y);
    return test::dot(y, g);
  };
  Tensor dx = Tensor::full(xs, std::nan(""), DType::F64), ds = Tensor::full(ss, std::nan(""), DType::F64);
  multiply_backward(x, s, g, dx, ds);
  EXPECT_TRUE(test::gradcheck(loss_x, x, dx, "multiply dx", 120));
  EXPECT_TRUE(test::gradcheck(loss_s, s, ds, "multiply ds", 120));

  // One gradient alone gives the same bits as both together.
  Tensor none, dx_alone = Tensor::full(xs, std::nan(""), DType::F64), ds_alone = Tensor::full(ss, std::nan(""), DType::F64);
  multiply_backward(x, s, g, dx_alone, none);
  multiply_backward(x, s, g, none, ds_alone);
  EXPECT_TRUE(test::identical(dx_alone, dx, "dx without ds", 0));
  EXPECT_TRUE(test::identical(ds_alone, ds, "ds without dx", 0));
}

INSTANTIATE_TEST_SUITE_P(Patterns, MultiplyGradients,
                         ::testing::Values(GradCase{{2, 3, 4, 5}, {2, 1, 1, 5}},   // channel attention
                                           GradCase{{2, 3, 4, 5}, {2, 3, 4, 1}},   // spatial attention
                                           GradCase{{2, 3, 4, 5}, {2, 3, 4, 5}},   // plain product
                                           GradCase{{2, 3, 4, 5}, {1, 1, 1, 1}},   // one scalar
                                           GradCase{{2, 3, 4, 5}, {1, 3, 1, 5}},   // two repeated runs
                                           GradCase{{2, 3, 4, 5}, {2, 1, 4, 1}},   // and two kept
                                           GradCase{{3, 1, 1, 7}, {3, 1, 1, 1}}),  // H = W = 1
                         [](const auto& info) {
                           return str_cat("x", info.param.x[0], "_", info.param.x[1], "_", info.param.x[2], "_",
                                          info.param.x[3], "_s", info.param.s[0], "_", info.param.s[1], "_",
                                          info.param.s[2], "_", info.param.s[3]);
                         });

TEST(Multiply, RunsInPlace) {
  const Tensor x = test::random({2, 3, 4, 5}, 1), s = test::random({2, 1, 1, 5}, 2);
  Tensor y = Tensor::empty(x.shape(), DType::F64), inplace = x.clone();
  multiply_forward(x, s, y);
  multiply_forward(inplace, s, inplace);
  EXPECT_TRUE(test::identical(inplace, y, "y = x ⊙ s in place", 0));
  // dx may alias dy.
  Tensor dx = Tensor::empty(x.shape(), DType::F64), ds = Tensor::empty(s.shape(), DType::F64);
  Tensor dy = test::random(x.shape(), 3), dy_inplace = dy.clone(), ds_inplace = Tensor::empty(s.shape(), DType::F64);
  multiply_backward(x, s, dy, dx, ds);
  multiply_backward(x, s, dy_inplace, dy_inplace, ds_inplace);
  EXPECT_TRUE(test::identical(dy_inplace, dx, "dx in dy's place", 0));
  EXPECT_TRUE(test::identical(ds_inplace, ds, "ds beside dx in dy's place", 0));
}

TEST(Multiply, RefusesBadInput) {
  const Tensor x = Tensor::zeros(Shape{2, 3, 4, 5}, DType::F64);
  Tensor y = Tensor::zeros(Shape{2, 3, 4, 5}, DType::F64);
  expect_error([&] { multiply_forward(x, Tensor::zeros(Shape{2, 1, 1, 4}, DType::F64), y); },
               {"multiply_forward", "does not broadcast", "[2,1,1,4]", "dimension 3"});
  expect_error([&] { multiply_forward(x, Tensor::zeros(Shape{3, 1, 1, 5}, DType::F64), y); },
               {"multiply_forward", "dimension 0"});
  expect_error([&] { multiply_forward(x, Tensor::zeros(Shape{5}, DType::F64), y); }, {"multiply_forward", "rank 4"});
  expect_error([&] { multiply_forward(x, Tensor::zeros(Shape{2, 1, 1, 5}, DType::F32), y); }, {"multiply_forward"});
  Tensor wrong = Tensor::zeros(Shape{2, 3, 4, 1}, DType::F64);
  expect_error([&] { multiply_forward(x, Tensor::zeros(Shape{2, 1, 1, 5}, DType::F64), wrong); },
               {"multiply_forward", "shapes differ"});
  const Tensor s = Tensor::zeros(Shape{2, 1, 1, 5}, DType::F64);
  Tensor dx = Tensor::zeros(x.shape(), DType::F64), ds_wrong = Tensor::zeros(Shape{2, 1, 1, 1}, DType::F64);
  expect_error([&] { multiply_backward(x, s, x, dx, ds_wrong); }, {"multiply_backward", "ds", "expected f64[2,1,1,5]"});
  Tensor ds_f32 = Tensor::zeros(s.shape(), DType::F32);
  expect_error([&] { multiply_backward(x, s, x, dx, ds_f32); }, {"multiply_backward", "ds", "expected f64"});
  Tensor dx_wrong = Tensor::zeros(Shape{2, 3, 4, 1}, DType::F64), ds = Tensor::zeros(s.shape(), DType::F64);
  expect_error([&] { multiply_backward(x, s, x, dx_wrong, ds); }, {"multiply_backward", "dx", "expected f64[2,3,4,5]"});
  expect_error([] { (void)multiply_output_shape(Shape{2, 3, 4, 5}, Shape{2, 3, 1, 2}); },
               {"multiply", "does not broadcast"});
}

TEST(MultiplyGpu, RefusesTensorsOnTwoDevices) {
  CUSEG_REQUIRE_GPU();
  const Tensor x = Tensor::zeros(Shape{2, 3, 4, 5}), s = Tensor::zeros(Shape{2, 1, 1, 5}, DType::F32, Device::cuda(0));
  Tensor y = Tensor::zeros(Shape{2, 3, 4, 5});
  expect_error([&] { multiply_forward(x, s, y); }, {"multiply_forward", "different devices"});
}

}  // namespace
}  // namespace cuseg
