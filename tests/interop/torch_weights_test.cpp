// PyTorch weights both ways, against Debian's PyTorch (tests/torch_weights.py): a state dict from
// seg_export's writer loads strictly into python/cuseg_torch_unet.py's UNet and gives cuseg's
// logits; a UNet trained in PyTorch (weights and batch-norm statistics moved, int64 counters
// in the file) loads into cuseg and gives PyTorch's logits. Bad state dicts: a missing, an extra
// and a mis-shaped tensor, each named.
#include "cuseg/interop/torch_weights.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cuseg/core/safetensors.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/unet.h"
#include "error_matchers.h"
#include "test_util.h"
#include "torch_runner.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

// float32 both sides, the same arithmetic in another order.
constexpr double kTolerance = 1e-5;

struct Variant {
  const char* name;
  UNetUpsample upsample;
  bool batch_norm;
};

const Variant kVariants[] = {{"transposed-bn", UNetUpsample::TransposedConv, true},
                             {"bilinear-no-bn", UNetUpsample::Bilinear, false}};

ModelConfig config_of(const Variant& v) {
  ModelConfig c = ModelConfig::unet_s(3, 5, 8);
  c.depth = 3;
  c.upsample = v.upsample;
  c.batch_norm = v.batch_norm;
  c.seed = 11;
  return c;
}

nlohmann::json torch_config(const ModelConfig& c) {
  return nlohmann::json::parse(torch_model_config(c));
}

Tensor eval_logits(Graph& g, const Tensor& image) {
  g.set_training(false);
  g.forward({{"image", image}});
  return g.get("logits").clone();
}

TEST(TorchWeights, ExportedWeightsGiveCusegsLogitsInPyTorch) {
  CUSEG_REQUIRE_TORCH();
  for (const Variant& v : kVariants) {
    const ModelConfig c = config_of(v);
    auto g = build_unet(c);
    // Batch-norm statistics away from their initial values, as after training.
    uint64_t seed = 40;
    for (auto& [name, t] : g->state())
      if (name.find("running") != std::string::npos)
        t.copy_from(test::random(t.shape(), seed++,
                                 name.find("var") != std::string::npos ? 0.5 : -0.5, 1.5,
                                 DType::F32));
    ModelInfo info;
    info.config = c;
    info.class_names = {"a", "b", "c", "d", "e"};
    const fs::path file = test::fresh_test_dir("cuseg_torch_export") / "state.safetensors";
    save_torch_state_dict(file.string(), *g, info, 12);
    const Tensor image = test::random(Shape{2, 24, 32, 3}, 5, -1, 1, DType::F32);
    nlohmann::json spec = torch_config(c);
    spec["op"] = "load";
    spec["path"] = file.string();
    const SafetensorsFile theirs = test::run_torch_script("torch_weights.py", {{"image", image}},
                                                          nlohmann::json::array({spec}).dump());
    EXPECT_TRUE(
        test::close(theirs.tensors.at("logits"), eval_logits(*g, image), kTolerance, v.name, 1));
  }
}

TEST(TorchWeights, PyTorchTrainedWeightsGivePyTorchsLogitsInCuseg) {
  CUSEG_REQUIRE_TORCH();
  for (const Variant& v : kVariants) {
    const ModelConfig c = config_of(v);
    const fs::path file = test::fresh_test_dir("cuseg_torch_import") / "trained.safetensors";
    const Tensor image = test::random(Shape{2, 24, 32, 3}, 6, -1, 1, DType::F32);
    nlohmann::json spec = torch_config(c);
    spec["op"] = "train";
    spec["path"] = file.string();
    spec["seed"] = 3;
    const SafetensorsFile theirs = test::run_torch_script("torch_weights.py", {{"image", image}},
                                                          nlohmann::json::array({spec}).dump());
    auto g = build_unet(c);
    load_torch_state_dict(*g, file.string());
    EXPECT_TRUE(
        test::close(eval_logits(*g, image), theirs.tensors.at("logits"), kTolerance, v.name, 1));
  }
}

TEST(TorchWeights, AMissingAnExtraOrAMisshapedTensorIsNamed) {
  const ModelConfig c = config_of(kVariants[0]);
  auto g = build_unet(c);
  const std::map<std::string, Tensor> good = torch_state_dict(*g);
  const std::map<std::string, Tensor> before = g->state();
  const Tensor w0 = before.at("enc0.conv1.weight").clone();

  std::map<std::string, Tensor> missing = good;
  missing.erase("dec1.bn2.running_var");
  test::expect_error([&] { load_torch_state_dict(*g, missing, "m.safetensors"); },
                     {"m.safetensors", "missing", "dec1.bn2.running_var"});
  std::map<std::string, Tensor> extra = good;
  extra["enc0.conv3.weight"] = good.at("enc0.conv1.weight");
  test::expect_error([&] { load_torch_state_dict(*g, extra, "x.safetensors"); },
                     {"x.safetensors", "does not have", "enc0.conv3.weight"});
  std::map<std::string, Tensor> misshaped = good;
  misshaped["enc1.conv1.weight"] = Tensor::zeros(Shape{16, 8, 1, 3});  // KRSC read as if OIHW…
  test::expect_error([&] { load_torch_state_dict(*g, misshaped, "s.safetensors"); },
                     {"s.safetensors", "enc1.conv1.weight", "[16,8,1,3]", "[16,8,3,3]"});
  // Nothing was copied by the refused loads.
  EXPECT_TRUE(test::identical(g->state().at("enc0.conv1.weight"), w0, "untouched", 0));
  // The good one round-trips: cuseg → PyTorch layout → cuseg.
  auto h = build_unet([&] {
    ModelConfig other = c;
    other.seed = 99;
    return other;
  }());
  load_torch_state_dict(*h, good, "good");
  for (const auto& [name, t] : g->state()) {
    if (t.dtype() != DType::F32) continue;
    EXPECT_TRUE(test::identical(h->state().at(name), t, name, 0));
  }
}

// Grouped and depthwise convolutions: PyTorch's weight is [K, C/groups, R, S], ours
// [K, R, S, C/groups] — the same permutation as ungrouped, element by element, both ways.
void add_grouped_convolutions(Graph& g, uint64_t seed) {
  g.add_input("image", 6);
  g.add(std::make_unique<Conv2d>("dw", 6, 12, 3, Conv2dParams{.pad_h = 1, .pad_w = 1, .groups = 6}, true, seed),
        {"image"}, "dw");
  g.add(std::make_unique<Conv2d>("grouped", 12, 4, 3, Conv2dParams{.groups = 2}, false, seed + 1), {"dw"}, "logits");
  g.add_output("logits");
}

TEST(TorchWeights, GroupedWeightsArePyTorchsKCgRS) {
  Graph g;
  add_grouped_convolutions(g, 1);
  const std::map<std::string, Tensor> torch = torch_state_dict(g);
  for (const auto& [name, shape] : {std::pair<std::string, Shape>{"dw.weight", Shape{12, 1, 3, 3}},
                                    {"grouped.weight", Shape{4, 6, 3, 3}}}) {
    const Tensor& t = torch.at(name);
    ASSERT_EQ(t.shape(), shape) << name;
    const std::vector<float> theirs = t.to(DType::F32).to_vector<float>();
    const std::vector<float> ours = g.state().at(name).to_vector<float>();
    const int64_t K = shape[0], C = shape[1], R = shape[2], S = shape[3];
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t r = 0; r < R; ++r)
          for (int64_t s = 0; s < S; ++s)
            ASSERT_EQ(theirs[size_t(((k * C + c) * R + r) * S + s)], ours[size_t(((k * R + r) * S + s) * C + c)])
                << name << " [" << k << "," << c << "," << r << "," << s << "]";
  }
  Graph h;
  add_grouped_convolutions(h, 7);
  load_torch_state_dict(h, torch, "grouped");
  for (const auto& [name, t] : g.state()) EXPECT_TRUE(test::identical(h.state().at(name), t, name, 0));
}

}  // namespace
}  // namespace cuseg
