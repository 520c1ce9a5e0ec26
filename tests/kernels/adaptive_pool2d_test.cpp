// Adaptive average pooling: hand-computed windows, gradient checks in double, bad input, and (with
// a GPU) the global-pooling kernel against the CPU. The registry (EveryOp) compares every
// implementation to the reference; tests/torch_parity.py compares the reference to PyTorch.
#include "cuseg/kernels/adaptive_pool2d.h"

#include <gtest/gtest.h>

#include <cmath>

#include "error_matchers.h"
#include "test_util.h"
#include "verify/registry.h"

namespace cuseg {
namespace {

TEST(AdaptiveAvgPool2d, WindowsMatchHandComputedValues) {
  // One row 0..4 pooled to 3: windows [0,2) [1,4) [3,5) (⌊i·5/3⌋, ⌈(i+1)·5/3⌉), overlapping.
  Tensor x = Tensor::from_vector(std::vector<double>{0, 1, 2, 3, 4}, Shape{1, 1, 5, 1});
  Tensor y = Tensor::empty(Shape{1, 1, 3, 1}, DType::F64);
  adaptive_avg_pool2d_forward(x, y);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0.5, 2.0, 3.5}));
  // Global: the mean of each channel.
  Tensor img = Tensor::from_vector(std::vector<double>{1, 10, 2, 20, 3, 30, 6, 60}, Shape{1, 2, 2, 2});
  Tensor g = Tensor::empty(Shape{1, 1, 1, 2}, DType::F64);
  adaptive_avg_pool2d_forward(img, g);
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{3, 30}));
  // Backward of the overlapping row: inputs 1 and 3 sit in two windows.
  Tensor dy = Tensor::from_vector(std::vector<double>{2, 3, 4}, Shape{1, 1, 3, 1});
  Tensor dx = Tensor::empty(Shape{1, 1, 5, 1}, DType::F64);
  adaptive_avg_pool2d_backward(dy, dx);
  EXPECT_EQ(dx.to_vector<double>(), (std::vector<double>{1, 1 + 1, 1, 1 + 2, 2}));
}

struct AdaptiveCase {
  Shape x, y;
};

class AdaptiveGradients : public ::testing::TestWithParam<AdaptiveCase> {};

TEST_P(AdaptiveGradients, BackwardMatchesFiniteDifferences) {
  const auto& [xs, ys] = GetParam();
  const Tensor x = test::random(xs, 1), g = test::random(ys, 2);
  auto loss = [&](const Tensor& xx) {
    Tensor y = Tensor::empty(ys, DType::F64);
    adaptive_avg_pool2d_forward(xx, y);
    return test::dot(y, g);
  };
  Tensor dx = Tensor::full(xs, std::nan(""), DType::F64);
  adaptive_avg_pool2d_backward(g, dx);
  EXPECT_TRUE(test::gradcheck(loss, x, dx, "adaptive_avg_pool2d dx"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, AdaptiveGradients,
                         ::testing::Values(AdaptiveCase{{2, 7, 7, 3}, {2, 1, 1, 3}}, AdaptiveCase{{1, 7, 9, 2}, {1, 3, 4, 2}},
                                           AdaptiveCase{{1, 3, 4, 2}, {1, 5, 7, 2}}, AdaptiveCase{{1, 1, 1, 3}, {1, 1, 1, 3}},
                                           AdaptiveCase{{2, 8, 6, 1}, {2, 1, 4, 1}}));

TEST(AdaptiveAvgPool2d, RefusesBadInputNamingTheOpAndShapes) {
  Tensor x = Tensor::zeros(Shape{2, 4, 4, 3});
  Tensor other_c = Tensor::zeros(Shape{2, 1, 1, 4}), other_n = Tensor::zeros(Shape{1, 1, 1, 3});
  test::expect_error([&] { adaptive_avg_pool2d_forward(x, other_c); }, {"adaptive_avg_pool2d_forward", "channels", "[2,1,1,4]"});
  test::expect_error([&] { adaptive_avg_pool2d_backward(other_n, x); }, {"adaptive_avg_pool2d_backward", "batch"});
  Tensor empty_out = Tensor::zeros(Shape{2, 0, 1, 3});
  test::expect_error([&] { adaptive_avg_pool2d_forward(x, empty_out); }, {"adaptive_avg_pool2d_forward", "zero-sized"});
  Tensor rank3 = Tensor::zeros(Shape{2, 4, 3});
  test::expect_error([&] { adaptive_avg_pool2d_forward(rank3, other_c); }, {"adaptive_avg_pool2d_forward"});
  Tensor y64 = Tensor::zeros(Shape{2, 1, 1, 3}, DType::F64);
  test::expect_error([&] { adaptive_avg_pool2d_forward(x, y64); }, {"adaptive_avg_pool2d_forward", "dtypes"});
  Tensor y = Tensor::zeros(Shape{2, 1, 1, 3});
  test::expect_error([&] { adaptive_avg_pool2d_forward(x, y, Backend::Cudnn); }, {"adaptive_avg_pool2d_forward"});
}

// Integers: every window sum is exact in float on both sides, in any order, so the global kernel's
// lane-wise sum and the reference's serial one agree bit for bit, as do the divisions.
TEST(AdaptiveAvgPool2dGpu, ExactAgainstTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  for (const auto& [xs, ys] : {AdaptiveCase{{3, 7, 7, 70}, {3, 1, 1, 70}}, AdaptiveCase{{2, 33, 31, 5}, {2, 1, 1, 5}},
                               AdaptiveCase{{2, 13, 11, 9}, {2, 5, 4, 9}}}) {
    const Tensor x = test::random_integers(xs, 8, -20, 20), dy = test::random_integers(ys, 9, -8, 8);
    Tensor y = Tensor::empty(ys), y_gpu = Tensor::full(ys, std::nan(""), DType::F32, gpu);
    adaptive_avg_pool2d_forward(x, y, Backend::Reference);
    adaptive_avg_pool2d_forward(x.to(gpu), y_gpu);
    EXPECT_TRUE(test::identical(y_gpu, y, "adaptive_avg_pool2d_forward " + xs.str(), 8));
    Tensor dx = Tensor::empty(xs), dx_gpu = Tensor::full(xs, std::nan(""), DType::F32, gpu);
    adaptive_avg_pool2d_backward(dy, dx, Backend::Reference);
    adaptive_avg_pool2d_backward(dy.to(gpu), dx_gpu);
    EXPECT_TRUE(test::close(dx_gpu, dx, 1e-6, "adaptive_avg_pool2d_backward " + xs.str(), 8));
  }
}

}  // namespace
}  // namespace cuseg
