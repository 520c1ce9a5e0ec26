// ONNX's own backend node-test cases on cuseg's kernels: every case of the op types cuseg
// implements (tests/onnx_node_cases.py generates them with the onnx package's generators), mapped
// onto cuseg's entry points (onnx_node_ops.cpp, onnx_node_tensor_ops.cpp, onnx_node_resize.cpp)
// and run on the reference in float32 and float64 and on the fast CPU path, against ONNX's
// expected outputs. A case cuseg
// cannot express is listed with the reason, never dropped: the number of expressible cases per op
// type is asserted, so a mapping that stops expressing a case fails, and docs/ONNX_NODE_TESTS.md
// must equal the table the test makes (CUSEG_UPDATE_DOCS=1 rewrites it).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "cuseg/core/safetensors.h"
#include "cuseg/kernels/op.h"
#include "onnx_node_case.h"
#include "oracle.h"
#include "test_util.h"

namespace cuseg::onnx_node {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Cases where cuseg runs and computes something else than ONNX by definition (not a bug), in one
// output: the test requires that output, and only it, to differ still, so that the note cannot
// outlive the difference.
struct Known {
  size_t output;
  const char* why;
};
constexpr const char* kBiasedVar =
    "running_var: ONNX's update takes the batch's biased variance, cuseg's (PyTorch's) the unbiased one, "
    "·M/(M − 1); y and running_mean agree";
const std::map<std::string, Known> kKnownDifferences = {
    {"test_batchnorm_example_training_mode", {2, kBiasedVar}},
    {"test_batchnorm_epsilon_training_mode", {2, kBiasedVar}},
    {"test_resize_downsample_sizes_linear_pytorch_half_pixel",
     {0, "ONNX's pytorch_half_pixel reads input 0 for an axis resized to one output; PyTorch's bilinear "
         "(align_corners=False, as F.interpolate(size=) computes it), which cuseg's is, reads in/2 − ½ (here 1.5)"}},
};

// Cases compared at ONNX's own tolerance (numpy's allclose with the case's rtol and atol), and why.
const std::map<std::string, std::string> kOnnxTolerance = {
    {"test_averagepool_2d_ceil_last_window_starts_on_pad",
     "ONNX's expected values are written to 4 decimals (0.1511 for 0.151056)"},
};

// Per op type: {cases, expressible}. A change here is a change of what cuseg can run.
const std::map<std::string, std::pair<int, int>> kExpected = {
    {"Add", {8, 1}},          {"AveragePool", {20, 8}},         {"BatchNormalization", {4, 4}},
    {"Clip", {12, 0}},        {"Concat", {12, 12}},             {"Conv", {6, 6}},
    {"ConvTranspose", {11, 6}}, {"GlobalAveragePool", {2, 2}},  {"GroupNormalization", {2, 2}},
    {"InstanceNormalization", {2, 2}}, {"LeakyRelu", {3, 3}},   {"LogSoftmax", {7, 7}},
    {"MaxPool", {19, 9}},     {"Mul", {9, 3}},                  {"ReduceL2", {9, 2}},
    {"ReduceMean", {8, 2}},   {"ReduceSum", {12, 2}},           {"Relu", {1, 1}},
    {"Resize", {39, 13}},     {"Sigmoid", {2, 2}},              {"Softmax", {7, 7}},
    {"Tanh", {2, 2}},         {"Upsample", {1, 1}},             {"SoftmaxCrossEntropyLoss", {34, 20}},
    {"Split", {16, 14}},      {"Swish", {1, 1}},
};

// Within 1e-5 of the element, or of a tenth of the output's largest magnitude (float32 sums that
// cancel to near zero carry their terms' rounding).
constexpr double kRelative = 1e-5;

Array read_array(const json& j, const SafetensorsFile& file) {
  Array a;
  a.name = j.value("name", "");
  if (a.name.empty()) return a;
  a.dtype = j["dtype"].get<std::string>();
  a.shape = j["shape"].get<std::vector<int64_t>>();
  if (!j["key"].is_null()) {
    const Tensor t = file.tensors.at(j["key"].get<std::string>());
    a.values = t.to(DType::F64).to_vector<double>();
    a.has_data = true;
  } else if (!j["values"].is_null()) {
    a.values = j["values"].get<std::vector<double>>();
    a.has_data = a.dtype == "float32" || a.dtype == "float64" || a.dtype == "int64" || a.dtype == "int32";
  }
  return a;
}

std::vector<Case> load_cases(std::string& onnx_version) {
  const fs::path path = test::fresh_test_dir("onnx_node") / "cases.safetensors";
  test::run_oracle("onnx_node_cases.py " + path.string());
  const SafetensorsFile file = load_safetensors(path);
  const json spec = json::parse(file.metadata.at("spec"));
  onnx_version = spec["onnx"].get<std::string>();
  std::vector<Case> cases;
  for (const json& j : spec["cases"]) {
    Case c{j["op"], j["name"], j["attrs"], {}, {}, j["rtol"], j["atol"]};
    for (const json& t : j["inputs"]) c.inputs.push_back(read_array(t, file));
    for (const json& t : j["outputs"]) c.outputs.push_back(read_array(t, file));
    cases.push_back(std::move(c));
  }
  return cases;
}

// "" where `got` equals ONNX's `want`, else what differs; at kRelative, or with rtol > 0 as
// numpy's allclose(rtol, atol).
std::string compare(const Array& got, const Array& want, double rtol = 0, double atol = 0) {
  if (got.shape != want.shape) return str_cat("shape ", json(got.shape).dump(), ", ONNX's ", json(want.shape).dump());
  if (!want.has_data) return "ONNX's output has no data here";
  double largest = 0, worst = 0;
  for (double v : want.values) largest = std::max(largest, std::abs(v));
  size_t at = 0;
  for (size_t i = 0; i < want.values.size(); ++i) {
    const double diff = std::abs(got.values[i] - want.values[i]);
    const double err = rtol > 0 ? diff / (atol + rtol * std::abs(want.values[i]))
                                : diff / std::max(std::abs(want.values[i]), largest / 10) / kRelative;
    if (!(err <= worst)) worst = err, at = i;  // NaN is the worst
  }
  if (worst <= 1) return "";
  return str_cat("element ", at, ": ", got.values[at], ", ONNX's ", want.values[at], " (", worst, " times the tolerance)");
}

struct Outcome {
  std::string status;  // "passed", "FAILED", "known difference", "not expressible"
  std::string detail;  // the runs, what failed, or why
};

Outcome run_case(const Case& c, bool fast_built) {
  const Mapping map = mappings().at(c.op);
  std::vector<std::pair<std::string, Run>> runs = {{"f32", {DType::F32, Backend::Reference}},
                                                   {"f64", {DType::F64, Backend::Reference}}};
  if (fast_built) runs.push_back({"fast", {DType::F32, Backend::Fast}});
  const auto loose = kOnnxTolerance.find(c.name);
  const double rtol = loose == kOnnxTolerance.end() ? 0 : c.rtol, atol = rtol > 0 ? c.atol : 0;
  std::string ran, failures;
  std::set<size_t> failed;  // outputs
  for (const auto& [label, run] : runs) {
    try {
      detail::DispatchTrace trace;
      const std::vector<Array> got = map(c, run);
      if (got.size() != c.outputs.size()) return {"FAILED", str_cat(label, ": ", got.size(), " outputs of ", c.outputs.size())};
      for (size_t i = 0; i < got.size(); ++i)
        if (const std::string d = compare(got[i], c.outputs[i], rtol, atol); !d.empty()) {
          failures += str_cat(failures.empty() ? "" : "; ", label, " output ", i, ": ", d);
          failed.insert(i);
        }
      bool fast = false;  // whether the fast run met a fast implementation (else it ran the reference)
      for (const auto& d : trace.dispatches()) fast |= d.impl == detail::Impl::Fast;
      if (label != "fast" || fast) ran += (ran.empty() ? "" : ", ") + label;
    } catch (const NotExpressible& e) {
      if (label != "f32") return {"FAILED", label + " run not expressible where f32 was: " + e.why};
      if (e.why.empty()) return {"FAILED", "not expressible, without a reason"};
      return {"not expressible", e.why};
    } catch (const std::exception& e) {
      return {"FAILED", str_cat(label, ": ", e.what())};
    }
  }
  const auto known = kKnownDifferences.find(c.name);
  if (known != kKnownDifferences.end())
    return failed == std::set<size_t>{known->second.output}
               ? Outcome{"known difference", str_cat("output ", known->second.output, ", ", known->second.why)}
               : Outcome{"FAILED", str_cat("a known difference in output ", known->second.output, " only, but: ",
                                           failures.empty() ? "it agrees with ONNX now" : failures)};
  if (!failures.empty()) return {"FAILED", failures};
  if (rtol > 0) return {"passed", str_cat(ran, " at ONNX's tolerance (rtol ", rtol, ", atol ", atol, "): ", loose->second)};
  return {"passed", ran};
}

struct Count {
  int cases = 0, passed = 0, known = 0, not_expressible = 0;
};

// docs/ONNX_NODE_TESTS.md below its marker line: the counts, then every case that did not pass.
std::string docs_tables(const std::map<std::string, Count>& counts,
                        const std::vector<std::pair<const Case*, Outcome>>& outcomes) {
  std::ostringstream out;
  out << "| op type | cases | passed | known differences | not expressible |\n| --- | --: | --: | --: | --: |\n";
  Count total;
  for (const auto& [op, n] : counts) {
    out << "| " << op << " | " << n.cases << " | " << n.passed << " | " << n.known << " | " << n.not_expressible << " |\n";
    total.cases += n.cases, total.passed += n.passed, total.known += n.known, total.not_expressible += n.not_expressible;
  }
  out << "| all | " << total.cases << " | " << total.passed << " | " << total.known << " | " << total.not_expressible << " |\n";
  const auto section = [&](const char* title, const char* status) {
    out << "\n### " << title << "\n\n| op type | case | why |\n| --- | --- | --- |\n";
    for (const auto& [c, o] : outcomes)
      if (o.status == status) out << "| " << c->op << " | `" << c->name << "` | " << o.detail << " |\n";
  };
  section("Known differences", "known difference");
  section("Not expressible", "not expressible");
  out << "\n### Compared at ONNX's own tolerance\n\n| case | why |\n| --- | --- |\n";
  for (const auto& [name, why] : kOnnxTolerance) out << "| `" << name << "` | " << why << " |\n";
  return out.str();
}

TEST(OnnxNodeCases, CusegComputesWhatOnnxExpects) {
  CUSEG_REQUIRE_ORACLE("onnx numpy safetensors");
  std::string onnx_version;
  const std::vector<Case> cases = load_cases(onnx_version);
  const detail::OpInfo* relu = detail::find_op_info("relu_forward");
  const bool fast_built = relu != nullptr && relu->built_impl(detail::Impl::Fast);

  std::map<std::string, Count> counts;
  std::vector<std::pair<const Case*, Outcome>> outcomes;
  for (const Case& c : cases) {
    ASSERT_TRUE(mappings().count(c.op)) << c.op << " has no mapping";
    outcomes.emplace_back(&c, run_case(c, fast_built));
    const Outcome& o = outcomes.back().second;
    Count& n = counts[c.op];
    ++n.cases;
    n.passed += o.status == "passed";
    n.known += o.status == "known difference";
    n.not_expressible += o.status == "not expressible";
    std::printf("%-22s %-66s %s: %s\n", c.op.c_str(), c.name.c_str(), o.status.c_str(), o.detail.c_str());
    EXPECT_NE(o.status, "FAILED") << c.op << " " << c.name << ": " << o.detail;
  }
  // The document's tables are this run's counts and reasons.
  const fs::path doc = fs::path(CUSEG_SOURCE_DIR) / "docs" / "ONNX_NODE_TESTS.md";
  const std::string marker = "<!-- The tables below are written by OnnxNodeCases (CUSEG_UPDATE_DOCS=1). -->\n";
  const std::string text = test::read_file(doc);
  const size_t at = text.find(marker);
  ASSERT_NE(at, std::string::npos) << doc << " lacks the marker line";
  const std::string want = text.substr(0, at + marker.size()) + "\nonnx " + onnx_version + ".\n\n" + docs_tables(counts, outcomes);
  const char* update = std::getenv("CUSEG_UPDATE_DOCS");
  if (update != nullptr && std::string(update) == "1") test::write_file(doc, want);
  else EXPECT_EQ(text, want) << doc << " differs from this run: CUSEG_UPDATE_DOCS=1 rewrites it";

  for (const auto& [op, n] : counts) {
    const auto expected = kExpected.find(op);
    ASSERT_NE(expected, kExpected.end()) << op << ": no expected counts";
    EXPECT_EQ(n.cases, expected->second.first) << op << ": ONNX's cases";
    EXPECT_EQ(n.cases - n.not_expressible, expected->second.second) << op << ": cases cuseg expresses";
  }
  EXPECT_EQ(counts.size(), kExpected.size());
}

}  // namespace
}  // namespace cuseg::onnx_node
