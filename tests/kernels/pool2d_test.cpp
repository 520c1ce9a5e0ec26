// Pooling: hand-computed values, tie and NaN rules, gradient checks in double, bad input, and
// (with a GPU) bit-exact agreement with the CPU plus cuDNN's max pooling against ours.
#include "cuseg/kernels/pool2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cuseg/config.h"
#include "verify/registry.h"
#include "error_matchers.h"
#include "test_util.h"
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/pool2d.h"
#include "cuseg/kernels/geometry.h"
#endif

namespace cuseg {
namespace {

using test::dot;
using test::expect_error;

// Distinct values spaced 1e-2 apart in a shuffled order: no ties, and a finite-difference step
// cannot change which element is the max.
Tensor distinct_values(const Shape& shape, uint64_t seed) {
  const std::vector<double> keys = test::random(shape, seed, 0, 1).to_vector<double>();
  std::vector<int64_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return keys[size_t(a)] < keys[size_t(b)]; });
  std::vector<double> v(keys.size());
  for (size_t rank = 0; rank < order.size(); ++rank)
    v[size_t(order[rank])] = 0.01 * double(rank) - 1.0;
  return Tensor::from_vector(v, shape);
}

TEST(Pool2d, MaxAndAverageMatchHandComputedValues) {
  Tensor x = Tensor::from_vector(
      std::vector<double>{1, 5, 2, 0, 3, 4, 8, -1, 7, 6, 9, 9, 0, 2, 1, 3}, Shape{1, 4, 4, 1});
  Tensor y = Tensor::empty(Shape{1, 2, 2, 1}, DType::F64),
         argmax = Tensor::empty(Shape{1, 2, 2, 1}, DType::I32);
  max_pool2d_forward(x, y, argmax, {});
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{5, 8, 7, 9}));
  // The 9s tie at (2,2) and (2,3): the first in row-major order wins.
  EXPECT_EQ(argmax.to_vector<int32_t>(), (std::vector<int32_t>{1, 6, 8, 10}));
  avg_pool2d_forward(x, y, {});
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{13.0 / 4, 9.0 / 4, 15.0 / 4, 22.0 / 4}));

  // 3×3 windows, stride 2, padding 1: the corner window holds 4 real elements.
  Tensor corner = Tensor::empty(Shape{1, 2, 2, 1}, DType::F64);
  Pool2dParams p{3, 3, 2, 2, 1, 1, true};
  avg_pool2d_forward(x, corner, p);
  EXPECT_DOUBLE_EQ(corner.to_vector<double>()[0], (1 + 5 + 3 + 4) / 9.0);
  p.count_include_pad = false;
  avg_pool2d_forward(x, corner, p);
  EXPECT_DOUBLE_EQ(corner.to_vector<double>()[0], (1 + 5 + 3 + 4) / 4.0);
}

TEST(Pool2d, MaxPoolingPropagatesNaN) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, std::nanf(""), 3, 2}, Shape{1, 2, 2, 1});
  Tensor y = Tensor::empty(Shape{1, 1, 1, 1}),
         argmax = Tensor::empty(Shape{1, 1, 1, 1}, DType::I32);
  max_pool2d_forward(x, y, argmax, {});
  EXPECT_TRUE(std::isnan(y.to_vector<float>()[0]));
  EXPECT_EQ(argmax.to_vector<int32_t>()[0], 1);
}

struct PoolCase {
  Shape x;
  Pool2dParams p;
};

class Pool2dGradients : public ::testing::TestWithParam<PoolCase> {};

TEST_P(Pool2dGradients, BackwardMatchesFiniteDifferences) {
  const auto& [xs, p] = GetParam();
  const Shape ys = pool2d_output_shape(xs, p);
  const Tensor x = distinct_values(xs, 3), g = test::random(ys, 4);
  Tensor argmax = Tensor::empty(ys, DType::I32);
  auto max_loss = [&](const Tensor& xx) {
    Tensor y = Tensor::empty(ys, DType::F64), idx = Tensor::empty(ys, DType::I32);
    max_pool2d_forward(xx, y, idx, p);
    return dot(y, g);
  };
  Tensor y = Tensor::empty(ys, DType::F64);
  max_pool2d_forward(x, y, argmax, p);
  Tensor dx = Tensor::full(xs, std::nan(""), DType::F64);
  max_pool2d_backward(g, argmax, dx, p);
  EXPECT_TRUE(test::gradcheck(max_loss, x, dx, "max_pool2d dx", 200));

  auto avg_loss = [&](const Tensor& xx) {
    Tensor out = Tensor::empty(ys, DType::F64);
    avg_pool2d_forward(xx, out, p);
    return dot(out, g);
  };
  avg_pool2d_backward(g, dx, p);
  EXPECT_TRUE(test::gradcheck(avg_loss, x, dx, "avg_pool2d dx", 200));
}

INSTANTIATE_TEST_SUITE_P(Shapes, Pool2dGradients,
                         ::testing::Values(PoolCase{{1, 4, 4, 1}, {2, 2, 2, 2, 0, 0, true}},
                                           PoolCase{{2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, true}},
                                           PoolCase{{1, 6, 5, 2}, {3, 3, 1, 1, 1, 1, false}},
                                           PoolCase{{2, 9, 8, 2}, {3, 2, 3, 1, 1, 0, false}},
                                           // Ceil mode: windows past the right padding, both divisors.
                                           PoolCase{{2, 7, 8, 2}, {3, 3, 2, 2, 1, 1, true, true}},
                                           PoolCase{{1, 6, 8, 2}, {3, 3, 2, 2, 0, 1, false, true}}));

// PyTorch's ceil-mode sizes and divisors, worked by hand (F.avg_pool2d gives the same).
TEST(Pool2d, CeilModeSizesAndDivisors) {
  // 6 with k3 s2 p0: ⌈3/2⌉ + 1 = 3 windows, the last [4, 7) clipped to 2 inputs.
  EXPECT_EQ(pool2d_output_shape(Shape{1, 6, 6, 1}, {3, 3, 2, 2, 0, 0, true, true}), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(pool2d_output_shape(Shape{1, 6, 6, 1}, {3, 3, 2, 2, 0, 0, true, false}), (Shape{1, 2, 2, 1}));
  // 6 with k2 s4 p1: ⌈6/4⌉ + 1 = 3, but the third window would start at 7 = H + pad: 2.
  EXPECT_EQ(pool2d_output_shape(Shape{1, 6, 6, 1}, {2, 2, 4, 4, 1, 1, true, true}), (Shape{1, 2, 2, 1}));
  // One row 0..5, k3 s2 p1 ceil: windows [-1,2) [1,4) [3,6) [5,8); the last covers input 5 and
  // padding 6, and hangs one past: divisor 2 with count_include_pad, 1 without.
  Tensor x = Tensor::from_vector(std::vector<double>{0, 1, 2, 3, 4, 5}, Shape{1, 1, 6, 1});
  Tensor y = Tensor::empty(Shape{1, 1, 4, 1}, DType::F64);
  avg_pool2d_forward(x, y, {1, 3, 1, 2, 0, 1, true, true});
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1.0 / 3, 6.0 / 3, 12.0 / 3, 5.0 / 2}));
  avg_pool2d_forward(x, y, {1, 3, 1, 2, 0, 1, false, true});
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1.0 / 2, 6.0 / 3, 12.0 / 3, 5.0 / 1}));
}

TEST(Pool2d, RefusesBadInputNamingTheOpAndShapes) {
  Tensor x = Tensor::zeros(Shape{1, 4, 4, 2}), y = Tensor::zeros(Shape{1, 2, 2, 2});
  Tensor argmax = Tensor::zeros(Shape{1, 2, 2, 2}, DType::I32);
  expect_error(
      [&] {
        max_pool2d_forward(x, y, argmax, {2, 2, 2, 2, 2, 2, true});
      },
      {"max_pool2d_forward", "padding"});
  expect_error(
      [&] {
        avg_pool2d_forward(x, y, {0, 2, 2, 2, 0, 0, true});
      },
      {"avg_pool2d_forward", "window"});
  expect_error(
      [&] {
        avg_pool2d_forward(x, y, {2, 2, 0, 2, 0, 0, true});
      },
      {"avg_pool2d_forward", "stride"});
  Tensor wrong_y = Tensor::zeros(Shape{1, 3, 3, 2}),
         float_argmax = Tensor::zeros(Shape{1, 2, 2, 2});
  Tensor y64 = y.to(DType::F64);
  expect_error([&] { avg_pool2d_forward(x, wrong_y, {}); },
               {"avg_pool2d_forward", "[1,3,3,2]", "[1,2,2,2]"});
  expect_error([&] { max_pool2d_forward(x, y, float_argmax, {}); },
               {"max_pool2d_forward", "argmax"});
  expect_error(
      [&] {
        avg_pool2d_forward(Tensor::zeros(Shape{1, 1, 1, 2}), y, {});
      },
      {"does not fit"});
  expect_error(
      [&] {
        avg_pool2d_forward(Tensor::zeros(Shape{1, 4, 0, 2}), y, {});
      },
      {"zero-sized"});
  expect_error([&] { avg_pool2d_forward(x, y64, {}); }, {"avg_pool2d_forward", "dtypes"});
  expect_error([&] { max_pool2d_forward(x, y, argmax, {}, Backend::Cudnn); },
               {"max_pool2d_forward"});
}

TEST(Pool2dGpu, ExactAgainstTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  for (const auto& [xs, p] : {PoolCase{{2, 33, 35, 17}, {3, 3, 2, 2, 1, 1, false}},
                              PoolCase{{4, 64, 64, 32}, {2, 2, 2, 2, 0, 0, true}}}) {
    const Shape ys = pool2d_output_shape(xs, p);
    // Integers: window sums are exact; repeated values exercise the tie rule on both sides.
    const Tensor x = test::random_integers(xs, 8, -20, 20),
                 dy = test::random_integers(ys, 9, -8, 8);
    // Both sides poisoned: NaN fails identical(), and an argmax neither side wrote fails all_written.
    Tensor y = poisoned(ys, DType::F32, Device::cpu()), a = poisoned(ys, DType::I32, Device::cpu());
    Tensor y_gpu = poisoned(ys, DType::F32, gpu), a_gpu = poisoned(ys, DType::I32, gpu);
    max_pool2d_forward(x, y, a, p);
    max_pool2d_forward(x.to(gpu), y_gpu, a_gpu, p);
    EXPECT_TRUE(test::identical(y_gpu, y, "max_pool2d_forward y", 8));
    ASSERT_TRUE(test::all_written(a, "reference max_pool2d_forward argmax"));
    EXPECT_TRUE(test::identical(a_gpu, a, "max_pool2d_forward argmax", 8));
    Tensor dx = poisoned(xs, DType::F32, Device::cpu()), dx_gpu = poisoned(xs, DType::F32, gpu);
    max_pool2d_backward(dy, a, dx, p);
    max_pool2d_backward(dy.to(gpu), a_gpu, dx_gpu, p);
    EXPECT_TRUE(test::identical(dx_gpu, dx, "max_pool2d_backward", 9));
  }
}

// The forward picks one element per window on both sides (distinct values: no ties), so y is
// bit-exact. The backward adds each window's gradient into the input that won it: without
// overlap (window = stride) every input receives at most one, so dx is bit-exact too; with
// overlapping windows an input can win several, and cuDNN adds them in another order than ours,
// which changes the last bit of a float sum — those are compared to rounding (at most 4 terms
// for a 3×3 window at stride 2: a few ulp, far below 1e-6).
TEST(Pool2dGpu, CudnnMaxPoolingMatchesOurs) {
  CUSEG_REQUIRE_GPU();
#if CUSEG_HAS_CUDNN
  const Device gpu = Device::cuda(0);
  for (const bool overlap : {true, false}) {
    const Shape xs{2, 31, 30, 33};
    const Pool2dParams p =
        overlap ? Pool2dParams{3, 3, 2, 2, 1, 1, true} : Pool2dParams{2, 2, 2, 2, 0, 0, true};
    const Shape ys = pool2d_output_shape(xs, p);
    const std::string what = overlap ? " (overlapping windows)" : " (windows = stride)";
    const Tensor x = distinct_values(xs, 1).to(DType::F32).to(gpu),
                 dy = test::random(ys, 2, -1, 1, DType::F32, gpu);
    Tensor y = poisoned(ys, DType::F32, gpu), argmax = poisoned(ys, DType::I32, gpu);
    max_pool2d_forward(x, y, argmax, p);
    Tensor dx = poisoned(xs, DType::F32, gpu);
    max_pool2d_backward(dy, argmax, dx, p);
    const PoolGeometry g{int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[1]),
                         int(ys[2]), p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
                         p.pad_h,    p.pad_w,    true};
    Tensor y_cudnn = poisoned(ys, DType::F32, gpu), dx_cudnn = poisoned(xs, DType::F32, gpu);
    cudnn::max_pool2d_forward(x.data<float>(), y_cudnn.data<float>(), g, 0);
    cudnn::max_pool2d_backward(x.data<float>(), y_cudnn.data<float>(), dy.data<float>(),
                               dx_cudnn.data<float>(), g, 0);
    EXPECT_TRUE(test::identical(y_cudnn, y, "cudnn max_pool2d_forward" + what, 1));
    if (overlap) {
      EXPECT_TRUE(test::close(dx_cudnn, dx, 1e-6, "cudnn max_pool2d_backward" + what, 2));
    } else {
      EXPECT_TRUE(test::identical(dx_cudnn, dx, "cudnn max_pool2d_backward" + what, 2));
    }
  }
#else
  GTEST_SKIP() << "built without cuDNN";
#endif
}

}  // namespace
}  // namespace cuseg
