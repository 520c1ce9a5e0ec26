// Convolution: hand-computed values, finite-difference gradient checks of every backward on the
// CPU reference in double, transposed convolution against its scatter definition, accumulation
// semantics, bad input, and (with a GPU) bit-exact agreement on small integers.
#include "cuseg/kernels/conv2d.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <span>

#include "cuseg/config.h"
#include "verify/registry.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/conv2d.h"
#endif
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::dot;
using test::expect_error;
using test::random;

TEST(Conv2d, MatchesHandComputedValues) {
  // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,-1]]: y = x[i][j] − x[i+1][j+1] = −4 everywhere.
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{1, 3, 3, 1});
  Tensor w = Tensor::from_vector(std::vector<double>{1, 0, 0, -1}, Shape{1, 2, 2, 1});
  Tensor y = Tensor::empty(Shape{1, 2, 2, 1}, DType::F64);
  conv2d_forward(x, w, y, {});
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{-4, -4, -4, -4}));
  // Padding 1: the corner output sees only x[0][0] under the kernel's −1 tap.
  Tensor yp = Tensor::empty(Shape{1, 4, 4, 1}, DType::F64);
  conv2d_forward(x, w, yp, {1, 1, 1, 1, 1, 1});
  EXPECT_EQ(yp.to_vector<double>()[0], -1);
  EXPECT_EQ(yp.to_vector<double>()[15], 9);
}

TEST(Conv2d, OutputShapeFollowsTheFormula) {
  EXPECT_EQ(conv2d_output_shape(Shape{2, 9, 11, 3}, Shape{5, 3, 3, 3}, {2, 2, 1, 1, 1, 1}),
            (Shape{2, 5, 6, 5}));
  EXPECT_EQ(conv2d_output_shape(Shape{1, 10, 10, 4}, Shape{3, 3, 3, 4}, {3, 2, 2, 2, 2, 2}),
            (Shape{1, 4, 5, 3}));
  EXPECT_EQ(
      conv_transpose2d_output_shape(Shape{2, 5, 7, 3}, Shape{3, 3, 3, 4}, {2, 2, 1, 1, 1, 1, 1, 1}),
      (Shape{2, 10, 14, 4}));
}

struct GradCase {
  Shape x, w;
  Conv2dParams p;
};

// GoogleTest prints a failing case by this; without it, by the struct's bytes.
void PrintTo(const GradCase& c, std::ostream* os) {
  *os << "x" << c.x.str() << " w" << c.w.str() << " s" << c.p.stride_h << "x" << c.p.stride_w << " pads ("
      << c.p.pad_h << ", " << c.p.bottom() << ", " << c.p.pad_w << ", " << c.p.right() << ") d" << c.p.dil_h << "x"
      << c.p.dil_w << " g" << c.p.groups;
}

class Conv2dGradients : public ::testing::TestWithParam<GradCase> {};

TEST_P(Conv2dGradients, BackwardMatchesFiniteDifferences) {
  const auto& [xs, ws, p] = GetParam();
  const uint64_t seed = 17;
  const Shape ys = conv2d_output_shape(xs, ws, p);
  const Tensor x = random(xs, seed), w = random(ws, seed + 1), g = random(ys, seed + 2);
  auto loss = [&](const Tensor& xx, const Tensor& ww) {
    Tensor y = Tensor::empty(ys, DType::F64);
    conv2d_forward(xx, ww, y, p);
    return dot(y, g);
  };
  Tensor dx = Tensor::full(xs, std::nan(""), DType::F64);
  conv2d_backward_data(g, w, dx, p);
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(v, w); }, x, dx, "conv2d dx"));
  Tensor dw = Tensor::zeros(ws, DType::F64);
  conv2d_backward_filter(x, g, dw, p);
  EXPECT_TRUE(test::gradcheck([&](const Tensor& v) { return loss(x, v); }, w, dw, "conv2d dw"));

  const Tensor b = random(Shape{ws[0]}, seed + 3);
  auto bias_loss = [&](const Tensor& bb) {
    Tensor y = Tensor::zeros(ys, DType::F64);
    conv2d_bias_forward(y, bb);
    return dot(y, g);
  };
  Tensor db = Tensor::zeros(Shape{ws[0]}, DType::F64);
  conv2d_bias_backward(g, db);
  EXPECT_TRUE(test::gradcheck(bias_loss, b, db, "conv2d db"));
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2dGradients,
                         ::testing::Values(GradCase{{1, 5, 6, 1}, {2, 3, 3, 1}, {1, 1, 1, 1, 1, 1}},
                                           GradCase{{2, 7, 5, 3}, {4, 3, 2, 3}, {2, 1, 1, 0, 1, 1}},
                                           GradCase{{1, 9, 9, 2}, {3, 3, 3, 2}, {2, 2, 2, 2, 2, 2}},
                                           GradCase{{2, 6, 7, 4}, {5, 1, 1, 4}, {1, 1, 0, 0, 1, 1}},
                                           GradCase{
                                               {1, 8, 8, 3}, {2, 2, 2, 3}, {2, 2, 0, 0, 1, 1}},
                                           // Depthwise (3×3 stride 2, dilated), with a multiplier, grouped.
                                           GradCase{{1, 7, 6, 3}, {3, 3, 3, 1}, {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 3}},
                                           GradCase{{2, 7, 7, 2}, {2, 3, 3, 1}, {.pad_h = 2, .pad_w = 2, .dil_h = 2, .dil_w = 2, .groups = 2}},
                                           GradCase{{1, 5, 6, 2}, {6, 3, 3, 1}, {.pad_h = 1, .pad_w = 1, .groups = 2}},
                                           GradCase{{1, 5, 5, 6}, {4, 3, 2, 3}, {.stride_w = 2, .pad_h = 1, .groups = 2}},
                                           // Asymmetric ("same") padding, also grouped.
                                           GradCase{{1, 6, 7, 2}, {3, 3, 3, 2}, {.stride_h = 2, .stride_w = 2, .pad_bottom = 1, .pad_right = 2}},
                                           GradCase{{2, 8, 6, 4}, {4, 5, 3, 1}, {.stride_h = 2, .pad_h = 1, .pad_w = 1, .groups = 4, .pad_bottom = 2, .pad_right = 0}}));

// Grouped convolution by its definition: group i of y is the ungrouped convolution of x's
// channels of group i with w's rows of group i. The ungrouped path is the one every earlier case
// checks; this pins the grouped indexing (which a gradient check alone cannot: a consistent
// mix-up of groups in all three directions would still check out).
Tensor channels(const Tensor& t, int64_t begin, int64_t count) {
  const int64_t rows = t.numel() / t.dim(3);
  Tensor out = Tensor::empty(Shape{t.dim(0), t.dim(1), t.dim(2), count}, DType::F64);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < count; ++c) out.data<double>()[r * count + c] = t.data<double>()[r * t.dim(3) + begin + c];
  return out;
}

TEST(Conv2d, GroupedIsTheUngroupedConvolutionOfEachGroup) {
  for (const auto& [xs, ws, p] : {GradCase{{2, 7, 6, 6}, {4, 3, 3, 3}, {.pad_h = 1, .pad_w = 1, .groups = 2}},
                                  GradCase{{1, 9, 8, 4}, {8, 3, 3, 1}, {.stride_h = 2, .stride_w = 2, .groups = 4}},
                                  GradCase{{1, 6, 6, 9}, {6, 1, 1, 3}, {.groups = 3}}}) {
    const Tensor x = random(xs, 1), w = random(ws, 2);
    const Shape ys = conv2d_output_shape(xs, ws, p);
    Tensor y = Tensor::empty(ys, DType::F64);
    conv2d_forward(x, w, y, p);
    const int64_t cg = xs[3] / p.groups, kg = ws[0] / p.groups;
    for (int grp = 0; grp < p.groups; ++grp) {
      Conv2dParams one = p;
      one.groups = 1;
      const Tensor wg = Tensor::from_vector(
          std::vector<double>(w.data<double>() + grp * kg * ws[1] * ws[2] * cg,
                              w.data<double>() + (grp + 1) * kg * ws[1] * ws[2] * cg),
          Shape{kg, ws[1], ws[2], cg});
      Tensor yg = Tensor::empty(Shape{ys[0], ys[1], ys[2], kg}, DType::F64);
      conv2d_forward(channels(x, grp * cg, cg), wg, yg, one);
      EXPECT_TRUE(test::close(channels(y, grp * kg, kg), yg, 1e-14, str_cat("group ", grp), 1));
    }
  }
}

// Asymmetric padding by its definition: the convolution without padding of x zero-padded by hand.
TEST(Conv2d, AsymmetricPaddingIsConvolvingTheZeroPaddedInput) {
  const Shape xs{1, 10, 13, 2}, ws{3, 3, 5, 2};
  const Conv2dParams p = same_padding({2, 2, 0, 0, 1, 1}, xs[1], xs[2], ws[1], ws[2]);
  EXPECT_EQ(p.pad_h, 0);  // 10 rows, stride 2, 3 taps: one row of padding, at the bottom
  EXPECT_EQ(p.bottom(), 1);
  EXPECT_EQ(p.pad_w, 2);  // 13 columns, 5 taps: four columns, two each side
  EXPECT_EQ(p.right(), 2);
  EXPECT_EQ(conv2d_output_shape(xs, ws, p), (Shape{1, 5, 7, 3}));  // ⌈10/2⌉ × ⌈13/2⌉
  const Tensor x = random(xs, 3), w = random(ws, 4);
  const Shape padded{1, xs[1] + p.pad_h + p.bottom(), xs[2] + p.pad_w + p.right(), 2};
  Tensor xp = Tensor::zeros(padded, DType::F64);
  for (int64_t h = 0; h < xs[1]; ++h)
    for (int64_t c = 0; c < xs[2] * 2; ++c)
      xp.data<double>()[((h + p.pad_h) * padded[2] + p.pad_w) * 2 + c] = x.data<double>()[h * xs[2] * 2 + c];
  Tensor y = Tensor::empty(Shape{1, 5, 7, 3}, DType::F64), y_padded = Tensor::empty(Shape{1, 5, 7, 3}, DType::F64);
  conv2d_forward(x, w, y, p);
  conv2d_forward(xp, w, y_padded, {2, 2, 0, 0, 1, 1});
  EXPECT_TRUE(test::close(y, y_padded, 1e-14, "asymmetric padding", 3));
}

struct TransposeCase {
  Shape x, w;
  ConvTranspose2dParams p;
};

class ConvTranspose2dCases : public ::testing::TestWithParam<TransposeCase> {};

// The definition: every input pixel scatters its kernel-weighted value onto the output.
Tensor scatter_definition(const Tensor& x, const Tensor& w, const ConvTranspose2dParams& p) {
  const Shape ys = conv_transpose2d_output_shape(x.shape(), w.shape(), p);
  Tensor y = Tensor::zeros(ys, DType::F64);
  const double* xv = x.data<double>();
  const double* wv = w.data<double>();
  double* yv = y.data<double>();
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), Ci = x.dim(3);
  const int64_t R = w.dim(1), S = w.dim(2), Co = w.dim(3);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t wi = 0; wi < W; ++wi)
        for (int64_t ci = 0; ci < Ci; ++ci)
          for (int64_t r = 0; r < R; ++r)
            for (int64_t s = 0; s < S; ++s) {
              const int64_t oh = h * p.stride_h - p.pad_h + r * p.dil_h;
              const int64_t ow = wi * p.stride_w - p.pad_w + s * p.dil_w;
              if (oh < 0 || oh >= ys[1] || ow < 0 || ow >= ys[2]) continue;
              for (int64_t co = 0; co < Co; ++co)
                yv[((n * ys[1] + oh) * ys[2] + ow) * Co + co] +=
                    xv[((n * H + h) * W + wi) * Ci + ci] * wv[((ci * R + r) * S + s) * Co + co];
            }
  return y;
}

TEST_P(ConvTranspose2dCases, ForwardIsTheScatterDefinitionAndBackwardChecksOut) {
  const auto& [xs, ws, p] = GetParam();
  const uint64_t seed = 5;
  const Shape ys = conv_transpose2d_output_shape(xs, ws, p);
  const Tensor x = random(xs, seed), w = random(ws, seed + 1), g = random(ys, seed + 2);
  Tensor y = Tensor::empty(ys, DType::F64);
  conv_transpose2d_forward(x, w, y, p);
  EXPECT_TRUE(test::close(y, scatter_definition(x, w, p), 1e-14, "conv_transpose2d_forward", seed));

  auto loss = [&](const Tensor& xx, const Tensor& ww) {
    Tensor out = Tensor::empty(ys, DType::F64);
    conv_transpose2d_forward(xx, ww, out, p);
    return dot(out, g);
  };
  Tensor dx = Tensor::full(xs, std::nan(""), DType::F64);
  conv_transpose2d_backward_data(g, w, dx, p);
  EXPECT_TRUE(
      test::gradcheck([&](const Tensor& v) { return loss(v, w); }, x, dx, "conv_transpose2d dx"));
  Tensor dw = Tensor::zeros(ws, DType::F64);
  conv_transpose2d_backward_filter(x, g, dw, p);
  EXPECT_TRUE(
      test::gradcheck([&](const Tensor& v) { return loss(x, v); }, w, dw, "conv_transpose2d dw"));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvTranspose2dCases,
    ::testing::Values(TransposeCase{{1, 3, 4, 2}, {2, 2, 2, 3}, {2, 2, 0, 0, 1, 1, 0, 0}},
                      TransposeCase{{2, 4, 3, 3}, {3, 3, 3, 2}, {2, 2, 1, 1, 1, 1, 1, 0}},
                      TransposeCase{{1, 3, 3, 2}, {2, 3, 3, 2}, {1, 1, 1, 1, 2, 2, 0, 0}},
                      TransposeCase{{1, 4, 4, 1}, {1, 3, 2, 1}, {3, 2, 1, 0, 1, 1, 2, 1}}));

TEST(Conv2d, WeightAndBiasGradientsAccumulate) {
  const Shape xs{1, 5, 5, 2}, ws{3, 3, 3, 2};
  const Conv2dParams p{1, 1, 1, 1, 1, 1};
  const Tensor x = random(xs, 1), dy = random(conv2d_output_shape(xs, ws, p), 2);
  Tensor fresh = Tensor::zeros(ws, DType::F64), prefilled = Tensor::full(ws, 0.5, DType::F64);
  conv2d_backward_filter(x, dy, fresh, p);
  conv2d_backward_filter(x, dy, prefilled, p);
  Tensor expected = fresh.clone();
  for (double& v : std::span(expected.data<double>(), size_t(expected.numel()))) v += 0.5;
  EXPECT_TRUE(test::close(prefilled, expected, 1e-15, "dw accumulates", 1));

  Tensor db = Tensor::full(Shape{3}, -1.0, DType::F64);
  conv2d_bias_backward(Tensor::full(Shape{2, 2, 3}, 0.25, DType::F64), db);
  EXPECT_EQ(db.to_vector<double>(), (std::vector<double>{0, 0, 0}));
}

TEST(Conv2d, RefusesBadInputNamingTheOpAndShapes) {
  Tensor x = Tensor::zeros(Shape{1, 5, 5, 3}), w = Tensor::zeros(Shape{4, 3, 3, 3});
  Tensor y = Tensor::zeros(Shape{1, 3, 3, 4});
  expect_error(
      [&] {
        conv2d_forward(x, Tensor::zeros(Shape{4, 3, 3, 2}), y, {});
      },
      {"conv2d_forward", "[1,5,5,3]", "[4,3,3,2]"});
  Tensor wrong_y = Tensor::zeros(Shape{1, 5, 5, 4}), y_i32 = y.to(DType::I32);
  expect_error([&] { conv2d_forward(x, w, wrong_y, {}); },
               {"conv2d_forward", "[1,5,5,4]", "[1,3,3,4]"});
  expect_error([&] { conv2d_forward(x, w.to(DType::F64), y, {}); }, {"conv2d_forward", "dtypes"});
  expect_error(
      [&] {
        conv2d_forward(Tensor::zeros(Shape{0, 5, 5, 3}), w, y, {});
      },
      {"conv2d_forward", "zero-sized"});
  expect_error(
      [&] {
        conv2d_forward(Tensor::zeros(Shape{5, 5, 3}), w, y, {});
      },
      {"conv2d_forward", "rank 4"});
  expect_error([&] { conv2d_forward(x, w, y, {1, 1, 3, 3, 1, 1}); }, {"conv2d_forward", "padding"});
  expect_error([&] { conv2d_forward(x, w, y, {1, 1, -1, 0, 1, 1}); }, {"conv2d_forward", "padding", "non-negative"});
  expect_error([&] { conv2d_forward(x, w, y, {.pad_bottom = -1}); }, {"conv2d_forward", "padding", "(0, -1, 0, 0)"});
  expect_error([&] { conv2d_forward(x, w, y, {.pad_right = 3}); }, {"conv2d_forward", "padding", "(0, 0, 0, 3)"});
  // Groups: 2 does not divide 3 input channels; 3 groups of x's 3 channels need w [K,R,S,1].
  expect_error([&] { conv2d_forward(x, Tensor::zeros(Shape{4, 3, 3, 1}), y, {.groups = 2}); },
               {"conv2d_forward", "2 groups must divide", "[1,5,5,3]"});
  expect_error([&] { conv2d_forward(x, Tensor::zeros(Shape{4, 3, 3, 1}), y, {.groups = 3}); },
               {"conv2d_forward", "3 groups must divide", "[4,3,3,1]"});
  expect_error([&] { conv2d_forward(x, Tensor::zeros(Shape{3, 3, 3, 3}), y, {.groups = 3}); },
               {"conv2d_forward", "[3,3,3,3]", "expects 3 per group × 3 group(s) = 9"});
  expect_error([&] { conv2d_forward(x, w, y, {.groups = 0}); }, {"conv2d_forward", "groups 0"});
  expect_error([&] { conv2d_forward(x, w, y, {0, 1, 0, 0, 1, 1}); }, {"conv2d_forward", "stride"});
  expect_error(
      [&] {
        conv2d_forward(x, w, y, {1, 1, 0, 0, 0, 1});
      },
      {"conv2d_forward", "dilation"});
  expect_error(
      [&] {
        conv2d_forward(Tensor::zeros(Shape{1, 2, 2, 3}), w, y, {});
      },
      {"does not fit"});
  expect_error([&] { conv2d_forward(x.to(DType::I32), w.to(DType::I32), y_i32, {}); },
               {"conv2d_forward", "i32"});
  expect_error([&] { conv2d_forward(x, w, y, {}, Backend::Cudnn); },
               {"conv2d_forward", "CUDA tensors"});
  expect_error([&] { conv2d_forward(Tensor(), w, y, {}); }, {"conv2d_forward", "undefined"});
  expect_error([&] { conv2d_bias_forward(y, Tensor::zeros(Shape{3})); },
               {"conv2d_bias_forward", "last dimension"});
  Tensor t = Tensor::zeros(Shape{1, 3, 3, 3});
  expect_error(
      [&] {
        Tensor out = Tensor::zeros(Shape{1, 6, 6, 3});
        conv_transpose2d_forward(t, Tensor::zeros(Shape{3, 2, 2, 3}), out,
                                 {2, 2, 0, 0, 1, 1, 2, 0});
      },
      {"conv_transpose2d", "output padding"});
  expect_error(
      [&] {
        Tensor out = Tensor::zeros(Shape{1, 7, 7, 3});
        conv_transpose2d_forward(t, Tensor::zeros(Shape{3, 2, 2, 3}), out,
                                 {2, 2, 0, 0, 1, 1, 0, 0});
      },
      {"conv_transpose2d_forward", "[1,6,6,3]"});
}

TEST(Conv2dGpu, RefusesTensorsOnDifferentDevices) {
  CUSEG_REQUIRE_GPU();
  Tensor x = Tensor::zeros(Shape{1, 5, 5, 3}),
         w = Tensor::zeros(Shape{4, 3, 3, 3}, DType::F32, Device::cuda(0));
  Tensor y = Tensor::zeros(Shape{1, 3, 3, 4});
  expect_error([&] { conv2d_forward(x, w, y, {}); },
               {"conv2d_forward", "different devices", "cuda:0"});
}

// Small integers make every product and partial sum exact in float32, whatever the order of
// the sums: our CUDA kernels must then agree with the CPU reference bit for bit. The reference by
// name: the fast CPU path may take Winograd, whose transforms are not exact on integers.
TEST(Conv2dGpu, ExactOnSmallIntegers) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  for (const auto& [xs, ws, p] : {GradCase{{2, 33, 31, 19}, {37, 3, 3, 19}, {1, 1, 1, 1, 1, 1}},
                                  GradCase{{3, 17, 18, 5}, {70, 3, 2, 5}, {2, 1, 1, 0, 2, 1}},
                                  // Depthwise (direct kernels), with a multiplier, grouped GEMM, asymmetric.
                                  GradCase{{2, 19, 17, 40}, {40, 3, 3, 1}, {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 40}},
                                  GradCase{{1, 21, 22, 7}, {14, 5, 5, 1}, {.pad_h = 4, .pad_w = 4, .dil_h = 2, .dil_w = 2, .groups = 7}},
                                  GradCase{{2, 15, 16, 12}, {18, 3, 3, 4}, {.stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 1, .groups = 3}},
                                  GradCase{{1, 16, 15, 8}, {8, 3, 3, 1}, {.stride_h = 2, .stride_w = 2, .groups = 8, .pad_bottom = 1, .pad_right = 1}},
                                  GradCase{{1, 64, 64, 64}, {64, 3, 3, 64}, {1, 1, 1, 1, 1, 1}}}) {
    if (xs[1] == 64 && test::small_cases_only()) continue;  // U-Net-sized (test_util.h)
    const uint64_t seed = 3;
    const Shape ys = conv2d_output_shape(xs, ws, p);
    const Tensor x = test::random_integers(xs, seed, -3, 3),
                 w = test::random_integers(ws, seed + 1, -3, 3);
    const Tensor dy = test::random_integers(ys, seed + 2, -3, 3);
    // Both sides poisoned: an element that neither writes is NaN on both, which identical() fails.
    Tensor y_cpu = poisoned(ys, DType::F32, Device::cpu()), y_gpu = poisoned(ys, DType::F32, gpu);
    conv2d_forward(x, w, y_cpu, p, Backend::Reference);
    conv2d_forward(x.to(gpu), w.to(gpu), y_gpu, p);
    EXPECT_TRUE(test::identical(y_gpu, y_cpu, "conv2d_forward", seed));
    Tensor dx_cpu = poisoned(xs, DType::F32, Device::cpu()), dx_gpu = poisoned(xs, DType::F32, gpu);
    conv2d_backward_data(dy, w, dx_cpu, p, Backend::Reference);
    conv2d_backward_data(dy.to(gpu), w.to(gpu), dx_gpu, p);
    EXPECT_TRUE(test::identical(dx_gpu, dx_cpu, "conv2d_backward_data", seed));
    Tensor dw_cpu = Tensor::full(ws, 2), dw_gpu = Tensor::full(ws, 2, DType::F32, gpu);
    conv2d_backward_filter(x, dy, dw_cpu, p, Backend::Reference);
    conv2d_backward_filter(x.to(gpu), dy.to(gpu), dw_gpu, p);
    EXPECT_TRUE(test::identical(dw_gpu, dw_cpu, "conv2d_backward_filter", seed));
    Tensor db_cpu = Tensor::full(Shape{ws[0]}, 2),
           db_gpu = Tensor::full(Shape{ws[0]}, 2, DType::F32, gpu);
    conv2d_bias_backward(dy, db_cpu, Backend::Reference);
    conv2d_bias_backward(dy.to(gpu), db_gpu);
    EXPECT_TRUE(test::identical(db_gpu, db_cpu, "conv2d_bias_backward", seed));
  }
}

// The implicit GEMM's row tiles (64 output pixels each, kGemmBM in kernels/cuda/implicit_gemm.cuh)
// used to go on the grid's y axis, which CUDA limits to 65535, so a large enough batch or image
// was refused. A 1×1 convolution from one channel to one over a 1 × (65535·64 + 1) image has
// 65536 row tiles of one multiply-add per pixel: the fewest blocks (65536, one column tile, no
// split) that cross the limit, cheap enough to emulate. Integer data make it exact.
TEST(Conv2dGpu, RunsMoreRowTilesThanTheGridYLimit) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const uint64_t seed = 11;
  const Shape xs{1, 1, 65535 * 64 + 1, 1}, ws{1, 1, 1, 1};
  const Tensor x = test::random_integers(xs, seed, -3, 3), w = Tensor::full(ws, -2);
  const Shape ys = conv2d_output_shape(xs, ws, {});
  // Poisoned on the host and copied, so that no fill kernel adds blocks: the GEMM's 65536 are all.
  Tensor y_cpu = poisoned(ys, DType::F32, Device::cpu()), y_gpu = poisoned(ys, DType::F32, Device::cpu()).to(gpu);
  conv2d_forward(x, w, y_cpu, {});
  conv2d_forward(x.to(gpu), w.to(gpu), y_gpu, {}, Backend::Cuda);
  EXPECT_TRUE(test::identical(y_gpu, y_cpu, "conv2d_forward", seed));
}

#if CUSEG_HAS_CUDA
// How cuDNN runs asymmetric padding (cudnn/conv2d.cpp): x zero-padded into a copy, the gradient of
// that copy cropped back. cuDNN itself cannot run here; the copies can.
TEST(Conv2dGpu, CopyWindowPadsWithZerosAndCropsBack) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const Tensor x = test::random_integers(Shape{2, 3, 4, 5}, 1, 1, 9).to(gpu);
  Tensor padded = poisoned(Shape{2, 3 + 0 + 1, 4 + 1 + 2, 5}, DType::F32, gpu);
  cuda::copy_window(x.data<float>(), 2, 3, 4, 5, padded.data<float>(), 4, 7, 0, 1, 0);
  const std::vector<float> p = padded.to(Device::cpu()).to_vector<float>(), xv = x.to(Device::cpu()).to_vector<float>();
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 7; ++w)
        for (int c = 0; c < 5; ++c) {
          const bool inside = h < 3 && w >= 1 && w < 5;
          const float want = inside ? xv[size_t(((n * 3 + h) * 4 + w - 1) * 5 + c)] : 0.f;
          ASSERT_EQ(p[size_t(((n * 4 + h) * 7 + w) * 5 + c)], want) << n << "," << h << "," << w << "," << c;
        }
  Tensor cropped = poisoned(x.shape(), DType::F32, gpu);
  cuda::copy_window(padded.data<float>(), 2, 4, 7, 5, cropped.data<float>(), 3, 4, 0, -1, 0);
  EXPECT_TRUE(test::identical(cropped, x, "crop of the padded copy", 1));
}
#endif

}  // namespace
}  // namespace cuseg
