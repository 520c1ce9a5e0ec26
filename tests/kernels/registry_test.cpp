// The generic comparison: every op, on every shape, on every implementation its descriptor names
// (kernels/op.h) and this build has, in float32 against the float64 CPU reference. And the proofs
// that nothing about an op is missing: every entry point runs through a descriptor, every
// descriptor has its tests and every test a descriptor, every op has a reference and CUDA
// kernels, and docs/OPS.md says what the descriptors say.
#include "verify/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <regex>
#include <set>

#include "cuseg/config.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/softmax.h"
#include "error_matchers.h"
#include "test_util.h"
#include "verify/op_cases.h"

namespace cuseg {

// How GoogleTest prints a target (ctest's test names carry it).
void PrintTo(const OpTarget& t, std::ostream* os) { *os << t.name(); }

namespace {

constexpr uint64_t kSeed = 20261121;
namespace fs = std::filesystem;

std::set<std::string> descriptor_names() {
  std::set<std::string> out;
  for (const detail::OpInfo& op : detail::op_infos()) out.insert(op.name);
  return out;
}

TEST(OpRegistry, EveryOpHasTestsAndEveryTestAnOp) {
  std::set<std::string> tested;
  for (const OpSpec& spec : op_registry()) {
    EXPECT_TRUE(tested.insert(spec.name).second) << spec.name << " has two test specs";
    EXPECT_NE(spec.info, nullptr) << spec.name << " is tested but no op has that name (kernels/op.h)";
  }
  for (const std::string& op : descriptor_names())
    EXPECT_TRUE(tested.count(op)) << op << " has a descriptor but no test cases (cuseg/kernels/*_cases.cpp)";
}

// The entry points a kernels header declares: every function whose last parameter is
// `Backend backend = Backend::Auto`.
std::set<std::string> declared_entry_points(const std::string& header_text) {
  const std::string text = std::regex_replace(header_text, std::regex("//[^\n]*"), "");
  const std::string marker = "Backend backend = Backend::Auto)";
  std::set<std::string> out;
  for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    int depth = 0;
    size_t open = at;
    while (open > 0) {  // back to the '(' that opens this parameter list
      --open;
      if (text[open] == ')') ++depth;
      if (text[open] == '(' && depth-- == 0) break;
    }
    size_t end = open;
    while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    size_t begin = end;
    while (begin > 0 && (std::isalnum(static_cast<unsigned char>(text[begin - 1])) || text[begin - 1] == '_')) --begin;
    out.insert(text.substr(begin, end - begin));
  }
  return out;
}

TEST(OpRegistry, DeclaredEntryPointsAreFoundInAHeader) {
  EXPECT_EQ(declared_entry_points("// one\nvoid f(const Tensor& x, Tensor& y,\n  const P& p = {}, Backend backend = "
                                  "Backend::Auto);\nint g(int, Backend backend);\nvoid h(std::vector<int> (*f)(int), "
                                  "Backend backend = Backend::Auto);"),
            (std::set<std::string>{"f", "h"}));
}

// An entry point that dispatched on its own (a switch, or a call to another entry point) would
// have no descriptor, so no op would say which implementations it has and none would be tested.
TEST(OpRegistry, EveryEntryPointRunsThroughADescriptor) {
  std::set<std::string> declared;
  for (const auto& file : fs::directory_iterator(fs::path(CUSEG_SOURCE_DIR) / "cuseg" / "kernels"))
    if (file.path().extension() == ".h")
      for (const std::string& name : declared_entry_points(test::read_file(file.path()))) declared.insert(name);
  ASSERT_GE(declared.size(), 30u) << "the scan of cuseg/kernels/*.h found too few entry points";
  std::set<std::string> entries;
  for (const detail::OpInfo& op : detail::op_infos()) entries.insert(op.entry);
  for (const std::string& name : declared)
    EXPECT_TRUE(entries.count(name)) << name << " (cuseg/kernels) takes a Backend but runs no op's descriptor";
  for (const std::string& name : entries)
    EXPECT_TRUE(declared.count(name)) << "an op names " << name << " as its entry point, which no header declares";
}

// The project's promise: every kernel has a plain CPU reference that defines it and cuseg's own
// CUDA kernels. Read from the descriptors, so it holds in every build, CUDA or not.
TEST(OpRegistry, EveryOpHasAReferenceAndCudaKernels) {
  for (const detail::OpInfo& op : detail::op_infos()) {
    EXPECT_TRUE(op.has_impl(Impl::Reference)) << op.name << " has no reference";
    EXPECT_TRUE(op.has_impl(Impl::Cuda)) << op.name << " has no CUDA kernels";
  }
}

TEST(OpRegistry, TheReducedPrecisionTolerancesAreThoseOfTheOpsThatHaveThem) {
  for (const OpSpec& spec : op_registry()) {
    ASSERT_NE(spec.info, nullptr) << spec.name;
    EXPECT_EQ(spec.bf16_tolerance > 0, spec.info->bf16 || spec.info->tensor_cores) << spec.name;
    EXPECT_EQ(spec.tf32_tolerance > 0, spec.info->tensor_cores) << spec.name;
  }
}

// docs/OPS.md is what the descriptors say, so removing an implementation from one (or an op)
// shows here as well as in what the registry runs.
TEST(OpRegistry, TheOpsTableInTheDocsIsTheDescriptors) {
  const std::string doc = test::read_file(fs::path(CUSEG_SOURCE_DIR) / "docs" / "OPS.md");
  const std::string table = ops_table();
  EXPECT_NE(doc.find(table), std::string::npos)
      << "docs/OPS.md does not hold the table of the ops' descriptors; `seg_verify --ops-table` prints it:\n"
      << table;
}

class EveryOpCases : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryOpCases, HaveTheShapesTheTestPlanAsksFor) {
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
  // Logits over one class are not a classification: the labelled ops start at two.
  const bool labelled = op.name.find("cross_entropy") != std::string::npos ||
                        op.name.find("dice") != std::string::npos || op.name == "confusion_update";
  EXPECT_TRUE(batch1) << op.name << ": no batch-1 case";
  EXPECT_TRUE(one_channel || labelled) << op.name << ": no single-channel case";
  EXPECT_TRUE(three_channels) << op.name << ": no 3-channel case";
  EXPECT_TRUE(odd) << op.name << ": no odd height and width";
  EXPECT_TRUE(unet) << op.name << ": no U-Net-sized case";
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const OpSpec& op : op_registry()) names.push_back(op.name);
  return names;
}
INSTANTIATE_TEST_SUITE_P(Ops, EveryOpCases, ::testing::ValuesIn(op_names()),
                         [](const auto& info) { return info.param; });

// Every CPU implementation of every op: the reference's own float32 instantiation against its
// float64 one (the same loops, so float32's rounding over the op's sums), the fast path, and its
// bf16 convolutions (with OpSpec::bf16_tolerance).
class EveryOp : public ::testing::TestWithParam<OpTarget> {};

TEST_P(EveryOp, MatchesTheReference) {
  const OpTarget& t = GetParam();
  if (t.precision == Precision::Bf16 && !cpu_has_bf16())
    GTEST_SKIP() << "this CPU has no bf16 instructions (AVX512-BF16 or AMX)";
  for (size_t i = 0; i < t.op->cases.size(); ++i) {
    const OpCheck r = check_op(*t.op, int(i), t.impl, kSeed, t.precision);
    EXPECT_TRUE(r.pass) << t.name() << " " << r.case_label << ": " << r.detail;
  }
}

// The GPU implementations (cuda, cudnn), in their own suite so that ctest labels them gpu (see
// tests/CMakeLists.txt).
class EveryOpGpu : public ::testing::TestWithParam<OpTarget> {};

TEST_P(EveryOpGpu, MatchesTheReference) {
  CUSEG_REQUIRE_GPU();
  const OpTarget& t = GetParam();
  // The sanitizer stages leave out what the plain emulated stage has run (test_util.h).
  const bool small_only = test::small_cases_only();
  const int64_t max_elements = test::max_case_elements();
  for (size_t i = 0; i < t.op->cases.size(); ++i) {
    if (small_only && t.op->cases[i].unet_sized) continue;
    if (max_elements < std::numeric_limits<int64_t>::max()) {
      int64_t elements = 0;
      for (const Tensor& in : t.op->make_inputs(int(i), kSeed)) elements += in.defined() ? in.numel() : 0;
      if (elements > max_elements) continue;
    }
    const OpCheck r = check_op(*t.op, int(i), t.impl, kSeed, t.precision);
    EXPECT_TRUE(r.pass) << t.name() << " " << r.case_label << ": " << r.detail;
  }
}

std::string target_name(const ::testing::TestParamInfo<OpTarget>& info) { return info.param.name(); }
INSTANTIATE_TEST_SUITE_P(Ops, EveryOp, ::testing::ValuesIn(op_targets(false)), target_name);
// A build without CUDA has no GPU implementation to check: no test, rather than skipped ones.
INSTANTIATE_TEST_SUITE_P(Ops, EveryOpGpu, ::testing::ValuesIn(op_targets(true)), target_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(EveryOpGpu);

TEST(OpRegistry, EveryImplementationThisBuildHasIsATarget) {
  std::set<std::string> targets;
  for (bool gpu : {false, true})
    for (const OpTarget& t : op_targets(gpu)) targets.insert(t.name());
  for (const OpSpec& op : op_registry())
    for (Impl impl : {Impl::Reference, Impl::Fast, Impl::Cuda, Impl::Cudnn})
      if (op.info->built_impl(impl)) {
        EXPECT_TRUE(targets.count(str_cat(op.name, "_", detail::impl_name(impl)))) << op.name << " " << int(impl);
      }
  EXPECT_EQ(targets.count("conv2d_forward_reference"), 1u);
  EXPECT_EQ(targets.count("conv2d_forward_fast"), CUSEG_HAS_ONEDNN ? 1u : 0u);
  EXPECT_EQ(targets.count("conv2d_forward_fast_bf16"), CUSEG_HAS_ONEDNN ? 1u : 0u);
  EXPECT_EQ(targets.count("conv2d_forward_cuda"), CUSEG_HAS_CUDA ? 1u : 0u);
  EXPECT_EQ(targets.count("conv2d_forward_cuda_tf32"), CUSEG_HAS_CUDA ? 1u : 0u);
  EXPECT_EQ(targets.count("conv_transpose2d_backward_filter_cuda_bf16"), CUSEG_HAS_CUDA ? 1u : 0u);
  EXPECT_EQ(targets.count("conv2d_forward_cudnn_tf32"), 0u) << "cuDNN runs f32 only";
  EXPECT_EQ(targets.count("conv2d_forward_cudnn"), CUSEG_HAS_CUDNN ? 1u : 0u);
  EXPECT_EQ(targets.count("dropout_forward_fast"), 0u) << "dropout has no fast implementation";
}

// The rule of kernels/op.h's choose_impl for a backend the op lacks: its device's own
// implementation runs (fast → reference, cudnn → cuda); nothing moves to another device.
std::vector<Impl> dispatched(const std::function<void()>& run) {
  const detail::DispatchTrace trace;
  run();
  std::vector<Impl> out;
  for (const detail::Dispatch& d : trace.dispatches()) out.push_back(d.impl);
  return out;
}

TEST(Dispatch, AnOpWithoutTheAskedForCpuImplementationRunsTheReference) {
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "built without oneDNN: Backend::Fast is refused";
  const Tensor x = Tensor::full(Shape{2, 3}, 1.0), w = Tensor::full(Shape{3}, 1.0);
  Tensor y = Tensor::empty(Shape{2, 3}), mask = Tensor::empty(Shape{2, 3}, DType::U8);
  EXPECT_EQ(dispatched([&] { dropout_forward(x, y, mask, {0.5, 1, 0}, Backend::Fast); }),
            std::vector<Impl>{Impl::Reference});
  EXPECT_EQ(dispatched([&] { activation_forward(x, y, {ActivationKind::Relu}, Backend::Fast); }),
            std::vector<Impl>{Impl::Fast});
  EXPECT_EQ(dispatched([&] { activation_forward(x, y, {ActivationKind::Relu}); }), std::vector<Impl>{Impl::Fast});
  EXPECT_EQ(dispatched([&] { activation_forward(x, y, {ActivationKind::Relu}, Backend::Reference); }),
            std::vector<Impl>{Impl::Reference});
  test::expect_error([&] { activation_forward(x, y, {ActivationKind::Relu}, Backend::Cuda); },
                     {"relu_forward", "cuda backend needs CUDA tensors"});
}

TEST(DispatchGpu, AnOpWithoutCudnnRunsCusegsKernels) {
  CUSEG_REQUIRE_GPU();
  if (!CUSEG_HAS_CUDNN) GTEST_SKIP() << "built without cuDNN: Backend::Cudnn is refused";
  const Device gpu = Device::cuda(0);
  const Tensor x = Tensor::full(Shape{2, 3}, 1.0, DType::F32, gpu);
  Tensor y = Tensor::empty(Shape{2, 3}, DType::F32, gpu);
  EXPECT_EQ(dispatched([&] { activation_forward(x, y, {ActivationKind::LeakyRelu}, Backend::Cudnn); }),
            std::vector<Impl>{Impl::Cuda});
  EXPECT_EQ(dispatched([&] { activation_forward(x, y, {ActivationKind::Relu}, Backend::Cudnn); }),
            std::vector<Impl>{Impl::Cudnn});
  test::expect_error([&] { activation_forward(x, y, {ActivationKind::Relu}, Backend::Fast); },
                     {"relu_forward", "fast backend is the CPU's"});
}

// Case 1 of `name` through check_op on `impl`, with `spoil` applied to the outputs of every run
// (the float64 reference's and the other's; `spoil` gets the run's dtype).
OpCheck check_spoiled(const std::string& name, std::function<void(std::vector<Tensor>&, DType)> spoil,
                      Impl impl = Impl::Reference) {
  OpSpec op = find_op(name);
  op.run = [real_run = op.run, spoil](const std::vector<Tensor>& in, int i, Exec b) {
    std::vector<Tensor> out = real_run(in, i, b);
    spoil(out, in.front().dtype());
    return out;
  };
  return check_op(op, 1, impl, kSeed);
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

// A spec whose run does not pass its Exec on would compare the reference with itself while
// claiming to check another implementation: check_op sees which implementation ran.
TEST(OpRegistry, CheckOpCatchesARunThatDoesNotPassItsExecOn) {
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "built without oneDNN: no second CPU implementation to ask for";
  OpSpec op = find_op("softmax_cross_entropy_forward");
  ASSERT_TRUE(check_op(op, 1, Impl::Fast, kSeed).pass);
  op.run = [](const std::vector<Tensor>& in, int, Exec) {
    Tensor loss = cases::output(in, Shape{1}), weight_sum = cases::output(in, Shape{1});
    softmax_cross_entropy_forward(in[0], in[1], in[2], loss, weight_sum, {-100, 0, 0.5});  // Backend::Auto
    return std::vector<Tensor>{loss, weight_sum};
  };
  const OpCheck r = check_op(op, 1, Impl::Reference, kSeed);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.detail.find("dispatched softmax_cross_entropy_forward to fast, not reference"), std::string::npos)
      << r.detail;
}

}  // namespace
}  // namespace cuseg
