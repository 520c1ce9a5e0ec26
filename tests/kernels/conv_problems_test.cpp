// The CUDA convolution's index arithmetic, checked on the CPU: a plain GEMM over the same
// gather/store functions the GPU kernel uses (kernels/cuda/conv_problems.h), one GEMM per group,
// and the direct depthwise kernels' per-element functions (kernels/cuda/depthwise.h) must
// reproduce the CPU reference exactly on small integers, for every stride, padding, dilation and
// grouping case.
#include "cuseg/kernels/cuda/conv_problems.h"
#include "cuseg/kernels/cuda/depthwise.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "cuseg/kernels/conv2d.h"
#include "verify/registry.h"
#include "test_util.h"

namespace cuseg {
namespace {

template <class Problem>
void plain_gemm(const Problem& prob) {
  for (int grp = 0; grp < prob.groups; ++grp)
    for (int m = 0; m < prob.M; ++m)
      for (int n = 0; n < prob.N; ++n) {
        float acc = 0;
        for (int kk = 0; kk < prob.Kd; ++kk) acc += prob.a(grp, m, kk) * prob.b(grp, kk, n);
        prob.store(grp, m, n, acc);
      }
}

struct Case {
  Shape x, w;
  Conv2dParams p;
};

// GoogleTest names each case by this (ctest's names show it); without it, by the struct's bytes,
// padding included, which change from build to build.
void PrintTo(const Case& c, std::ostream* os) {
  *os << "x" << c.x.str() << " w" << c.w.str() << " s" << c.p.stride_h << "x" << c.p.stride_w << " p" << c.p.pad_h
      << "x" << c.p.pad_w << " (bottom " << c.p.bottom() << ", right " << c.p.right() << ") d" << c.p.dil_h << "x"
      << c.p.dil_w << " g" << c.p.groups;
}

class ConvProblems : public ::testing::TestWithParam<Case> {};

TEST_P(ConvProblems, CudaIndexArithmeticUnderAPlainCpuGemmEqualsTheReference) {
  const auto& [xs, ws, p] = GetParam();
  const Shape ys = conv2d_output_shape(xs, ws, p);
  const ConvGeometry g{int(xs[0]),  int(xs[1]), int(xs[2]), int(xs[3]),  int(ws[0]),   int(ws[1]),
                       int(ws[2]),  int(ys[1]), int(ys[2]), p.stride_h,  p.stride_w,   p.pad_h,
                       p.pad_w,     p.dil_h,    p.dil_w,    p.bottom(),  p.right(),    p.groups};
  const Tensor x = test::random_integers(xs, 1, -3, 3), w = test::random_integers(ws, 2, -3, 3);
  const Tensor dy = test::random_integers(ys, 3, -3, 3);

  // Both sides poisoned (NaN): an element that neither writes fails identical().
  Tensor y_ref = poisoned(ys, DType::F32, Device::cpu()), y = poisoned(ys, DType::F32, Device::cpu());
  conv2d_forward(x, w, y_ref, p);
  plain_gemm(cuda::forward_problem(g, x.data<float>(), w.data<float>(), y.data<float>()));
  EXPECT_TRUE(test::identical(y, y_ref, "ConvForward", 1));
  if (cuda::is_depthwise(g)) {
    Tensor yd = poisoned(ys, DType::F32, Device::cpu());
    for (int64_t i = 0; i < g.y_size(); ++i)
      yd.data<float>()[i] = cuda::depthwise_forward_at(g, x.data<float>(), w.data<float>(), i);
    EXPECT_TRUE(test::identical(yd, y_ref, "depthwise forward", 1));
  }

  Tensor dx_ref = poisoned(xs, DType::F32, Device::cpu()), dx = poisoned(xs, DType::F32, Device::cpu());
  conv2d_backward_data(dy, w, dx_ref, p);
  plain_gemm(cuda::backward_data_problem(g, dy.data<float>(), w.data<float>(), dx.data<float>()));
  EXPECT_TRUE(test::identical(dx, dx_ref, "ConvBackwardData", 3));
  if (cuda::is_depthwise(g)) {
    Tensor dxd = poisoned(xs, DType::F32, Device::cpu());
    for (int64_t i = 0; i < g.x_size(); ++i)
      dxd.data<float>()[i] = cuda::depthwise_backward_data_at(g, dy.data<float>(), w.data<float>(), i);
    EXPECT_TRUE(test::identical(dxd, dx_ref, "depthwise backward data", 3));
  }

  Tensor dw_ref = Tensor::full(ws, 1), dw = Tensor::full(ws, 1);
  conv2d_backward_filter(x, dy, dw_ref, p);
  plain_gemm(cuda::backward_filter_problem(g, x.data<float>(), dy.data<float>(), dw.data<float>()));
  EXPECT_TRUE(test::identical(dw, dw_ref, "ConvBackwardFilter", 1));
  if (cuda::is_depthwise(g)) {
    // The column reduction's columns, each summed over the output pixels as column_reduce does.
    Tensor dwd = Tensor::full(ws, 1);
    for (int col = 0; col < g.R * g.S * g.K; ++col) {
      double total = 0;
      for (int64_t npq = 0; npq < int64_t(g.N) * g.P * g.Q; ++npq)
        total += cuda::depthwise_filter_term(g, x.data<float>(), dy.data<float>(), npq, col);
      dwd.data<float>()[cuda::depthwise_filter_index(g, col)] += float(total);
    }
    EXPECT_TRUE(test::identical(dwd, dw_ref, "depthwise backward filter", 1));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvProblems,
                         ::testing::Values(Case{{1, 5, 7, 1}, {1, 3, 3, 1}, {1, 1, 1, 1, 1, 1}},
                                           Case{{2, 9, 11, 3}, {5, 3, 3, 3}, {2, 2, 1, 1, 1, 1}},
                                           Case{{3, 13, 10, 7}, {9, 5, 3, 7}, {1, 1, 2, 1, 1, 2}},
                                           Case{{1, 10, 10, 4}, {3, 3, 3, 4}, {3, 2, 2, 2, 2, 2}},
                                           Case{{2, 8, 8, 6}, {4, 2, 2, 6}, {2, 2, 0, 0, 1, 1}},
                                           Case{{1, 6, 6, 5}, {7, 1, 1, 5}, {1, 1, 0, 0, 1, 1}},
                                           Case{{2, 9, 8, 6}, {6, 3, 3, 1}, {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 6}},
                                           Case{{1, 11, 9, 4}, {4, 3, 3, 1}, {.pad_h = 2, .pad_w = 2, .dil_h = 2, .dil_w = 2, .groups = 4}},
                                           Case{{1, 7, 8, 3}, {9, 3, 3, 1}, {.pad_h = 1, .pad_w = 1, .groups = 3}},
                                           Case{{2, 7, 6, 6}, {10, 3, 3, 3}, {.stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 2}},
                                           Case{{1, 10, 13, 8}, {12, 3, 5, 2}, {.stride_h = 2, .stride_w = 2, .pad_w = 2, .groups = 4, .pad_bottom = 1, .pad_right = 2}},
                                           Case{{1, 10, 12, 5}, {5, 3, 3, 1}, {.stride_h = 2, .stride_w = 2, .groups = 5, .pad_bottom = 1, .pad_right = 1}}),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

}  // namespace
}  // namespace cuseg
