// The generic comparison: every registered op, on every shape, in float32 on the CPU and on
// each GPU implementation, against the float64 CPU reference. Also proves that the registry
// covers every entry point with the shapes the test plan asks for.
#include "verify/registry.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "cuseg/config.h"
#include "cuseg/kernels/compute.h"
#include "test_util.h"

namespace cuseg {
namespace {

constexpr uint64_t kSeed = 20261121;

TEST(OpRegistry, CoversEveryKernelEntryPoint) {
  const std::set<std::string> expected = {"conv2d_forward",
                                          "conv2d_backward_data",
                                          "conv2d_backward_filter",
                                          "conv2d_bias_forward",
                                          "conv2d_bias_backward",
                                          "conv_transpose2d_forward",
                                          "conv_transpose2d_backward_data",
                                          "conv_transpose2d_backward_filter",
                                          "max_pool2d_forward",
                                          "max_pool2d_backward",
                                          "avg_pool2d_forward",
                                          "avg_pool2d_backward",
                                          "softmax_forward",
                                          "softmax_backward",
                                          "log_softmax_forward",
                                          "log_softmax_backward",
                                          "softmax_cross_entropy_forward",
                                          "softmax_cross_entropy_backward", "relu_forward", "relu_backward", "leaky_relu_forward",
      "leaky_relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "add",
      "scale", "axpy", "dropout_forward", "dropout_backward",
      "upsample_nearest_forward", "upsample_nearest_backward", "upsample_bilinear_forward",
      "upsample_bilinear_backward", "concat_channels", "split_channels",
      "batch_norm_forward_training", "batch_norm_forward_inference", "batch_norm_backward",
      "batch_norm_relu_forward_training", "batch_norm_relu_forward_inference", "batch_norm_relu_backward",
      "reduce_sum", "reduce_mean", "reduce_l2_norm", "bce_loss_forward", "bce_loss_backward",
      "mse_loss_forward", "mse_loss_backward", "smooth_l1_loss_forward", "smooth_l1_loss_backward",
      "dice_forward", "dice_backward"};
  std::set<std::string> registered;
  for (const OpSpec& op : op_registry()) registered.insert(op.name);
  EXPECT_EQ(registered, expected);
}

class EveryOp : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryOp, HasTheShapesTheTestPlanAsksFor) {
  const OpSpec& op = find_op(GetParam());
  ASSERT_GE(op.cases.size(), 6u);
  bool batch1 = false, one_channel = false, three_channels = false, odd = false, unet = false;
  for (size_t i = 0; i < op.cases.size(); ++i) {
    const Shape s = op.make_inputs(int(i), kSeed).front().shape();
    batch1 |= s[0] == 1;
    one_channel |= s[s.rank() - 1] == 1 || (s.rank() == 4 && s[3] == 1);
    three_channels |= s[s.rank() - 1] == 3;
    odd |= s.rank() == 4 && s[1] % 2 == 1 && s[2] % 2 == 1;
    unet |= op.cases[i].unet_sized;
  }
  EXPECT_TRUE(batch1) << op.name << ": no batch-1 case";
  EXPECT_TRUE(one_channel || op.name.find("cross_entropy") != std::string::npos ||
              op.name.find("dice") != std::string::npos)
      << op.name << ": no single-channel case";
  EXPECT_TRUE(three_channels) << op.name << ": no 3-channel case";
  EXPECT_TRUE(odd) << op.name << ": no odd height and width";
  EXPECT_TRUE(unet) << op.name << ": no U-Net-sized case";
}

// The reference's own float32 instantiation against its float64 one: the same loops, so this
// checks float32's rounding over the op's sums, not a second implementation.
TEST_P(EveryOp, CpuReferenceFloatMatchesDouble) {
  const OpSpec& op = find_op(GetParam());
  for (size_t i = 0; i < op.cases.size(); ++i) {
    const OpCheck r = check_op(op, int(i), Device::cpu(), Backend::Reference, kSeed);
    EXPECT_TRUE(r.pass) << op.name << " " << r.case_label << ": " << r.detail;
  }
}

// The fast CPU path (oneDNN), a separate implementation, against the float64 reference.
TEST_P(EveryOp, CpuFastMatchesReference) {
  const OpSpec& op = find_op(GetParam());
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "built without oneDNN: there is no fast CPU path";
  if (!op.has_fast) GTEST_SKIP() << op.name << " has no fast implementation: it runs the reference";
  for (size_t i = 0; i < op.cases.size(); ++i) {
    const OpCheck r = check_op(op, int(i), Device::cpu(), Backend::Fast, kSeed);
    EXPECT_TRUE(r.pass) << op.name << " " << r.case_label << " fast: " << r.detail;
  }
}

// bf16 convolutions on the fast path, against the float64 reference with the bf16 tolerance.
TEST_P(EveryOp, CpuFastBf16MatchesReference) {
  const OpSpec& op = find_op(GetParam());
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "built without oneDNN: there is no fast CPU path";
  if (op.bf16_tolerance == 0) GTEST_SKIP() << op.name << " has no bf16 path (only convolutions have)";
  if (!cpu_has_bf16()) GTEST_SKIP() << "this CPU has no bf16 instructions (AVX512-BF16 or AMX)";
  for (size_t i = 0; i < op.cases.size(); ++i) {
    const OpCheck r = check_op(op, int(i), Device::cpu(), Backend::Fast, kSeed, Precision::Bf16);
    EXPECT_TRUE(r.pass) << op.name << " " << r.case_label << " bf16: " << r.detail;
  }
}

// The GPU checks, in their own suite so that ctest labels them gpu (see tests/CMakeLists.txt).
class EveryOpGpu : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryOpGpu, CudaMatchesReference) {
  CUSEG_REQUIRE_GPU();
  const OpSpec& op = find_op(GetParam());
  // The sanitizer stages leave out what the plain emulated stage has run (test_util.h).
  const bool small_only = test::small_cases_only();
  const int64_t max_elements = test::max_case_elements();
  for (size_t i = 0; i < op.cases.size(); ++i) {
    if (small_only && op.cases[i].unet_sized) continue;
    if (max_elements < std::numeric_limits<int64_t>::max()) {
      int64_t elements = 0;
      for (const Tensor& t : op.make_inputs(int(i), kSeed)) elements += t.numel();
      if (elements > max_elements) continue;
    }
    const OpCheck r = check_op(op, int(i), Device::cuda(0), Backend::Cuda, kSeed);
    EXPECT_TRUE(r.pass) << op.name << " " << r.case_label << " cuda: " << r.detail;
  }
}

TEST_P(EveryOpGpu, CudnnMatchesReference) {
  CUSEG_REQUIRE_GPU();
  const OpSpec& op = find_op(GetParam());
  if (!op.has_cudnn) GTEST_SKIP() << op.name << " has no cuDNN path (tested in its own suite)";
  if (!CUSEG_HAS_CUDNN) GTEST_SKIP() << "built without cuDNN";
  for (size_t i = 0; i < op.cases.size(); ++i) {
    const OpCheck r = check_op(op, int(i), Device::cuda(0), Backend::Cudnn, kSeed);
    EXPECT_TRUE(r.pass) << op.name << " " << r.case_label << " cudnn: " << r.detail;
  }
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const OpSpec& op : op_registry()) names.push_back(op.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Ops, EveryOp, ::testing::ValuesIn(op_names()),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Ops, EveryOpGpu, ::testing::ValuesIn(op_names()),
                         [](const auto& info) { return info.param; });

// Case 1 of `name` through check_op on the CPU, with `spoil` applied to the outputs of every
// run (the float64 reference's and the float32 one's; `spoil` gets the run's dtype).
OpCheck check_spoiled(const std::string& name, std::function<void(std::vector<Tensor>&, DType)> spoil) {
  OpSpec op = find_op(name);
  op.run = [real_run = op.run, spoil](const std::vector<Tensor>& in, int i, Exec b) {
    std::vector<Tensor> out = real_run(in, i, b);
    spoil(out, in.front().dtype());
    return out;
  };
  return check_op(op, 1, Device::cpu(), Backend::Auto, kSeed);
}

// A kernel that leaves an element unwritten must fail: check_op poisons outputs with NaN.
TEST(OpRegistry, CheckOpCatchesUnwrittenOutputs) {
  const OpCheck r = check_spoiled("softmax_forward", [](std::vector<Tensor>& out, DType dtype) {
    if (dtype == DType::F32) out[0].view(Shape{1}, 3).fill(std::nan(""));
  });
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.detail.find("non-finite"), std::string::npos) << r.detail;
}

// The reference's outputs are poisoned as well, and NaN matches NaN in compare(): an element
// that neither the reference nor the implementation writes must still fail, as the reference's.
TEST(OpRegistry, CheckOpCatchesOutputsThatNeitherImplementationWrites) {
  const OpCheck r = check_spoiled("softmax_forward", [](std::vector<Tensor>& out, DType) {
    out[0].view(Shape{1}, 3).fill(std::nan(""));  // in f64 and in f32 alike
  });
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.detail.find("the reference has 1 unwritten"), std::string::npos) << r.detail;
}

// Likewise for an index output (max pooling's argmax, poisoned with a negative index).
TEST(OpRegistry, CheckOpCatchesIndicesThatNeitherImplementationWrites) {
  const OpCheck r = check_spoiled("max_pool2d_forward", [](std::vector<Tensor>& out, DType) {
    out[1].view(Shape{2}, 0).copy_from(poisoned(Shape{2}, DType::I32, out[1].device()));
  });
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.detail.find("output 1: the reference has 2 unwritten"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace cuseg
