// The fast CPU path's reductions are bit-reproducible across thread counts: fixed chunks combined
// in a fixed order (kernels/fast/parallel.h; batch norm and cross-entropy share the split, group norm splits
// each sample alike). Its
// values against the float64 reference, case by case, are the registry's (registry_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "cuseg/config.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/kernels/group_norm.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/onednn/conv2d.h"
#include "cuseg/kernels/onednn/engine.h"
#endif
#include "test_util.h"

namespace cuseg {
namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Runs `op` (which returns its outputs) on 1 thread and on 2, and expects identical bits.
void expect_same_bits_on_1_and_2_threads(const char* what, const std::function<std::vector<Tensor>()>& op) {
  const int threads = cpu_threads();
  set_cpu_threads(1);
  const std::vector<Tensor> one = op();
  set_cpu_threads(std::min(2, cpu_cores()));
  const std::vector<Tensor> two = op();
  set_cpu_threads(threads);
  ASSERT_EQ(one.size(), two.size());
  // Equal bits prove nothing of outputs that neither run wrote (poisoned alike): they must be finite.
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_TRUE(test::all_finite(one[i], str_cat(what, ": output ", i)));
    EXPECT_TRUE(same_bits(one[i], two[i])) << what << ": output " << i;
  }
}

TEST(FastPath, BatchNormGivesTheSameBitsOnAnyThreadCount) {
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "this build has no fast CPU path (no oneDNN)";
  if (cpu_cores() < 2) GTEST_SKIP() << "one core: nothing to compare";
  // Many chunks of rows, the last one partial. In channel 0 the first row holds +2^40 and the last
  // −2^40: the low bits of the small values a chunk adds to either are lost, so the statistics
  // depend on where the chunks end. On ordinary data the sums in double agree to a float's last bit
  // in any order, and a split that followed the thread count would go unseen (it did, when tried).
  const Shape s{3, 45, 41, 24}, c{24};
  Tensor x = test::random(s, 1, -2, 3, DType::F32);
  x.data<float>()[0] = 0x1p40f;
  x.data<float>()[x.numel() - 24] = -0x1p40f;
  const Tensor gamma = test::random(c, 2, 0.5, 1.5, DType::F32);
  const Tensor beta = test::random(c, 3, -1, 1, DType::F32), dy = test::random(s, 4, -1, 1, DType::F32);
  expect_same_bits_on_1_and_2_threads("batch_norm_relu", [&] {
    const double nan = std::nan("");
    Tensor y = Tensor::full(s, nan), mean = Tensor::full(c, nan), invstd = Tensor::full(c, nan);
    Tensor rm = Tensor::zeros(c, DType::F32), rv = Tensor::full(c, 1.0, DType::F32);
    batch_norm_relu_forward_training(x, gamma, beta, y, mean, invstd, rm, rv, {}, Backend::Fast);
    Tensor dx = Tensor::full(s, nan), dgamma = Tensor::zeros(c, DType::F32), dbeta = Tensor::zeros(c, DType::F32);
    batch_norm_relu_backward(x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta, {}, Backend::Fast);
    return std::vector<Tensor>{y, mean, invstd, rm, rv, dx, dgamma, dbeta};
  });
}

// As for batch norm, with the chunks inside each sample: 4087 rows of 16 channels per sample are
// four chunks, the last partial; sample 0's first and last rows hold ±2^40 in channel 0 (group 0).
TEST(FastPath, GroupNormGivesTheSameBitsOnAnyThreadCount) {
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "this build has no fast CPU path (no oneDNN)";
  if (cpu_cores() < 2) GTEST_SKIP() << "one core: nothing to compare";
  const Shape s{2, 61, 67, 16}, c{16}, stats{2, 4};
  const GroupNormParams p{4, 1e-5};
  Tensor x = test::random(s, 1, -2, 3, DType::F32);
  x.data<float>()[0] = 0x1p40f;
  x.data<float>()[s.numel() / 2 - 16] = -0x1p40f;
  const Tensor gamma = test::random(c, 2, 0.5, 1.5, DType::F32);
  const Tensor beta = test::random(c, 3, -1, 1, DType::F32), dy = test::random(s, 4, -1, 1, DType::F32);
  expect_same_bits_on_1_and_2_threads("group_norm_relu", [&] {
    const double nan = std::nan("");
    Tensor y = Tensor::full(s, nan), mean = Tensor::full(stats, nan), invstd = Tensor::full(stats, nan);
    group_norm_relu_forward(x, gamma, beta, y, mean, invstd, p, Backend::Fast);
    Tensor dx = Tensor::full(s, nan), dgamma = Tensor::zeros(c, DType::F32), dbeta = Tensor::zeros(c, DType::F32);
    group_norm_relu_backward(x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta, p, Backend::Fast);
    return std::vector<Tensor>{y, mean, invstd, dx, dgamma, dbeta};
  });
}


#if CUSEG_HAS_ONEDNN
// The rule of onednn/conv2d.cpp: Winograd for wide 3×3 stride-1 convolutions with enough pixels,
// so that the registry's cases of that kind (conv2d_cases.cpp: 1×63×66×32 → 48, 2×64×64×64 → 64)
// check its values against the float64 reference, and the direct convolution everywhere else.
ConvGeometry conv3x3(int n, int h, int w, int c, int k, int stride) {
  const int p = (h + 2 - 3) / stride + 1, q = (w + 2 - 3) / stride + 1;
  return {n, h, w, c, k, 3, 3, p, q, stride, stride, 1, 1, 1, 1, 1, 1, 1};
}

TEST(FastPath, WinogradServesWideStrideOneConvolutionsOnly) {
  if (onednn::isa_name().rfind("avx512", 0) != 0) GTEST_SKIP() << "oneDNN's Winograd needs AVX-512";
  if (std::getenv("CUSEG_CONV_WINOGRAD")) GTEST_SKIP() << "CUSEG_CONV_WINOGRAD is set";
  EXPECT_TRUE(onednn::uses_winograd(conv3x3(1, 63, 66, 32, 48, 1), Precision::F32));
  EXPECT_TRUE(onednn::uses_winograd(conv3x3(2, 64, 64, 64, 64, 1), Precision::F32));
  if (cpu_has_bf16()) {
    EXPECT_FALSE(onednn::uses_winograd(conv3x3(1, 63, 66, 32, 48, 1), Precision::Bf16));
  }
  EXPECT_FALSE(onednn::uses_winograd(conv3x3(1, 63, 66, 16, 48, 1), Precision::F32));  // narrow
  EXPECT_FALSE(onednn::uses_winograd(conv3x3(1, 30, 30, 64, 64, 1), Precision::F32));   // 900 pixels
  EXPECT_FALSE(onednn::uses_winograd(conv3x3(1, 127, 132, 32, 48, 2), Precision::F32));  // stride 2
}
#endif

}  // namespace
}  // namespace cuseg
