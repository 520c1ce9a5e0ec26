// ONNX export against the outside world: onnx's checker (full check, shape inference included)
// accepts every export, and ONNX Runtime's outputs equal cuseg's own within 1e-5 relative, on
// real-looking images (the synthetic dataset's) at several sizes and batch sizes, for both
// upsampling variants, with and without batch norm, with dropout, through every head, and for
// the layers a U-Net does not use (nearest upsampling, LeakyReLU, average pooling, sigmoid).
// The oracles are PyPI's onnx and onnxruntime in the virtual environment of scripts/deps.sh.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <tuple>
#include <nlohmann/json.hpp>

#include "cuseg/core/safetensors.h"
#include "cuseg/data/synthetic.h"
#include "cuseg/infer/predict.h"
#include "cuseg/interop/onnx.h"
#include "cuseg/kernels/softmax.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/networks.h"
#include "cuseg/layers/unet.h"
#include "error_matchers.h"
#include "oracle.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

#define CUSEG_REQUIRE_ONNX_ORACLES() CUSEG_REQUIRE_ORACLE("onnx onnxruntime safetensors")

// Both sides compute in float32: they agree to about 1e-8 relative (seen). A transposed weight,
// a wrong epsilon or align_corners instead of half_pixel shows as 1.5e-4 to 1e-2.
constexpr double kTolerance = 1e-5;

// A network whose batch-norm scales, shifts and running statistics are random, as after training
// (fresh ones, γ = 1, β = 0, mean 0, var 1, would hide a swapped or ignored tensor).
std::unique_ptr<Graph> trained_like(const ModelConfig& c) {
  auto g = build_model(c);
  std::set<std::string> norms;
  for (Layer* l : g->layers())
    if (dynamic_cast<BatchNorm2d*>(l)) norms.insert(l->name());
  uint64_t seed = 100;
  for (auto& [name, t] : g->state()) {
    if (t.dtype() != DType::F32 || !norms.count(name.substr(0, name.rfind('.')))) continue;
    if (name.ends_with("running_var") || name.ends_with(".weight"))
      t.copy_from(test::random(t.shape(), seed++, 0.5, 2.0, DType::F32));
    else
      t.copy_from(test::random(t.shape(), seed++, -0.5, 0.5, DType::F32));
  }
  return g;
}

ModelInfo info_for(const ModelConfig& c) {
  ModelInfo info;
  info.config = c;
  for (int k = 0; k < c.classes; ++k) info.class_names.push_back(str_cat("class", k));
  info.normalization.mean = {0.41, 0.45, 0.52};
  info.normalization.std = {0.21, 0.26, 0.3};
  info.height = info.width = 32;
  return info;
}

// [N, H, W, C] → [N, C, H, W].
Tensor to_nchw(const Tensor& t) {
  const int64_t N = t.dim(0), H = t.dim(1), W = t.dim(2), C = t.dim(3);
  const std::vector<float> v = t.to(Device::cpu()).to_vector<float>();
  std::vector<float> out(v.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        for (int64_t c = 0; c < C; ++c)
          out[size_t(((n * C + c) * H + y) * W + x)] = v[size_t(((n * H + y) * W + x) * C + c)];
  return Tensor::from_vector(out, Shape{N, C, H, W});
}

// cuseg's logits for raw images [N, H, W, C] in [0, 1]: normalized as the tools do, then an
// evaluation-mode forward.
Tensor cuseg_logits(Graph& g, const ModelInfo& info, const Tensor& images) {
  Tensor x = images.clone();
  info.normalization.apply(x);
  g.set_training(false);
  g.forward({{"image", x}});
  return g.get("logits").clone();
}

struct OrtRun {
  SafetensorsFile outputs;
  json report;
};

// Exports, and runs the export in ONNX Runtime on `images` (NHWC, raw).
OrtRun run_in_onnx_runtime(Graph& g, const ModelInfo& info, const Tensor& images, OnnxHead head,
                           const std::string& tag) {
  const fs::path dir = test::fresh_test_dir("cuseg_onnx_" + tag);
  export_onnx((dir / "model.onnx").string(), g, info, head);
  save_safetensors((dir / "in.safetensors").string(), {{"image", to_nchw(images)}});
  OrtRun r;
  r.report = json::parse(test::run_oracle(str_cat("onnx_run.py ", (dir / "model.onnx").string(),
                                                  " ", (dir / "in.safetensors").string(), " ",
                                                  (dir / "out.safetensors").string())));
  r.outputs = load_safetensors((dir / "out.safetensors").string());
  return r;
}

Tensor real_looking_images(int n, int h, int w, uint64_t seed) {
  SyntheticConfig sc;
  sc.height = h, sc.width = w, sc.seed = seed;
  Tensor images, labels;
  synthetic_batch(sc, 0, n, images, labels);
  return images;
}

// ONNX Runtime on g's export gives cuseg's logits at each size (N, H and W are dynamic in the
// export); `tag` names the run's folder and the failure.
void expect_onnx_runtime_gives_cusegs_logits(Graph& g, const ModelInfo& info,
                                             const std::vector<std::tuple<int, int, int>>& sizes,
                                             const std::string& tag) {
  for (const auto& [n, h, w] : sizes) {
    const Tensor images = real_looking_images(n, h, w, uint64_t(h * w));
    const OrtRun ort = run_in_onnx_runtime(g, info, images, OnnxHead::Logits, tag);
    EXPECT_TRUE(test::close(ort.outputs.tensors.at("logits"), to_nchw(cuseg_logits(g, info, images)), kTolerance,
                            str_cat(tag, " ", n, "x", h, "x", w), 1));
  }
}

struct Variant {
  const char* name;
  UNetUpsample upsample;
  bool batch_norm;
  double dropout;
};

TEST(OnnxExport, OnnxRuntimeReproducesTheLogitsOfEveryUNetVariant) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  for (const Variant& v :
       {Variant{"transposed-bn", UNetUpsample::TransposedConv, true, 0.0},
        Variant{"bilinear-bn", UNetUpsample::Bilinear, true, 0.0},
        Variant{"bilinear-no-bn", UNetUpsample::Bilinear, false, 0.0},
        Variant{"transposed-no-bn-dropout", UNetUpsample::TransposedConv, false, 0.3}}) {
    ModelConfig c = ModelConfig::unet_s(3, 5, 8);
    c.depth = 3;
    c.upsample = v.upsample;
    c.batch_norm = v.batch_norm;
    c.bottleneck_dropout = v.dropout;
    c.seed = 7;
    auto g = trained_like(c);
    const ModelInfo info = info_for(c);
    // N, H and W are dynamic: the first variant runs at several sizes and batch sizes.
    std::vector<std::tuple<int, int, int>> sizes = {{2, 24, 40}};
    if (v.name == std::string("transposed-bn")) sizes = {{1, 32, 32}, {2, 24, 40}, {3, 16, 64}};
    expect_onnx_runtime_gives_cusegs_logits(*g, info, sizes, v.name);
  }
}

// The model zoo's networks: a BasicBlock and a Bottleneck ResNet and MobileNetV2 under SMP's Unet decoder, at two
// sizes and batch sizes (N, H and W are dynamic in the export).
TEST(OnnxExport, OnnxRuntimeReproducesTheLogitsOfTheModelZoosNetworks) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  for (const char* encoder : {"resnet18", "resnet50", "mobilenet_v2"}) {
    ModelConfig c = ModelConfig::smp(Architecture::Unet, encoder, 3, 5);
    c.encoder_depth = 4;
    c.decoder_channels = {64, 32, 16, 16};
    auto g = trained_like(c);
    const ModelInfo info = info_for(c);
    expect_onnx_runtime_gives_cusegs_logits(*g, info, {{1, 32, 48}, {2, 64, 32}}, str_cat("unet_", encoder));
  }
}

// SMP's FPN (GroupNorm with its ReLU, align-corners bilinear resizing, the four-way merge) on a
// BasicBlock ResNet, both merges, at two sizes and batch sizes; its Dropout2d the identity.
TEST(OnnxExport, OnnxRuntimeReproducesTheLogitsOfFpn) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  for (const char* merge : {"add", "cat"}) {
    ModelConfig c = ModelConfig::smp(Architecture::Fpn, "resnet18", 3, 5);
    c.decoder_pyramid_channels = 64;
    c.decoder_segmentation_channels = 32;
    c.decoder_merge_policy = merge;
    auto g = trained_like(c);
    // GroupNorm's affine parameters off their initial 1 and 0 too: the export scales per channel.
    std::set<std::string> group_norms;
    for (Layer* l : g->layers())
      if (dynamic_cast<GroupNorm*>(l)) group_norms.insert(l->name());
    uint64_t seed = 200;
    for (auto& [name, t] : g->state())
      if (group_norms.count(name.substr(0, name.rfind('.'))))
        t.copy_from(test::random(t.shape(), seed++, name.ends_with(".weight") ? 0.5 : -0.5,
                                 name.ends_with(".weight") ? 2.0 : 0.5, DType::F32));
    EXPECT_EQ(group_norms.size(), 7u);
    const ModelInfo info = info_for(c);
    expect_onnx_runtime_gives_cusegs_logits(*g, info, {{1, 32, 64}, {2, 64, 32}}, str_cat("fpn-", merge));
  }
}

// Unet on EfficientNet-b0: static asymmetric padding, squeeze and excitation (Multiply), SiLU; at
// depth 3 also the blocks SMP runs one feature past the depth, whose outputs nothing reads.
TEST(OnnxExport, OnnxRuntimeReproducesTheLogitsOfUnetOnEfficientNet) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  for (const int depth : {5, 3}) {
    ModelConfig c = ModelConfig::smp(Architecture::Unet, "efficientnet-b0", 3, 5);
    c.encoder_depth = depth;
    c.decoder_channels = {64, 32, 16, 16, 16};
    c.decoder_channels.resize(size_t(depth));
    auto g = trained_like(c);
    const ModelInfo info = info_for(c);
    expect_onnx_runtime_gives_cusegs_logits(*g, info, {{1, 32, 64}, {2, 64, 32}},
                                            str_cat("unet_efficientnet-b0_depth", depth));
  }
}

TEST(OnnxExport, SoftmaxAndArgmaxHeadsAndTheMetadata) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  ModelConfig c = ModelConfig::unet_s(3, 4, 8);
  c.depth = 3;
  auto g = trained_like(c);
  const ModelInfo info = info_for(c);
  const Tensor images = real_looking_images(2, 32, 32, 5);
  const Tensor logits = cuseg_logits(*g, info, images);
  Tensor probs = Tensor::empty(logits.shape());
  softmax_forward(logits, probs);
  const OrtRun soft = run_in_onnx_runtime(*g, info, images, OnnxHead::Probabilities, "softmax");
  EXPECT_TRUE(test::close(soft.outputs.tensors.at("probabilities"), to_nchw(probs), kTolerance,
                          "softmax head", 1));

  const OrtRun arg = run_in_onnx_runtime(*g, info, images, OnnxHead::Classes, "argmax");
  const Tensor& classes = arg.outputs.tensors.at("classes");
  EXPECT_EQ(arg.report.at("outputs").at("classes"), "tensor(int64)");
  ASSERT_EQ(classes.shape(), (Shape{2, 32, 32}));
  const std::vector<int32_t> got = classes.to_vector<int32_t>();
  const std::vector<uint8_t> want = argmax_classes(probs).to_vector<uint8_t>();
  int64_t differ = 0;
  for (size_t i = 0; i < got.size(); ++i) differ += got[i] != int32_t(want[i]);
  EXPECT_EQ(differ, 0) << "pixels whose class differs";

  const json& meta = soft.report.at("metadata");
  EXPECT_EQ(json::parse(meta.at("classes").get<std::string>()), json(info.class_names));
  const json norm = json::parse(meta.at("normalization").get<std::string>());
  EXPECT_EQ(norm.at("mean").get<std::vector<double>>(), info.normalization.mean);
  EXPECT_EQ(norm.at("std").get<std::vector<double>>(), info.normalization.std);
  EXPECT_EQ(meta.at("multiple").get<std::string>(), "4");
  EXPECT_NE(meta.at("input_contract").get<std::string>().find("/ 255"), std::string::npos);
  EXPECT_EQ(soft.report.at("opset"), json::array({17}));
}

TEST(OnnxExport, LayersTheUNetDoesNotUse) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  // image → Conv 3×3 → LeakyReLU → ReLU6 → AvgPool 2×2 → nearest ×2 → sigmoid → MaxPool 3×3 s1 p1 → Conv
  // 1×1 → logits
  Graph g;
  g.add_input("image", 3, 2);
  g.add(std::make_unique<Conv2d>("c1", 3, 6, 3, Conv2dParams{1, 1, 1, 1, 1, 1}, true, 1), {"image"},
        "c1");
  g.add(std::make_unique<Activation>("leaky", ActivationParams{ActivationKind::LeakyRelu, 0.2}),
        {"c1"}, "leaky");
  g.add(std::make_unique<Activation>("r6", ActivationParams{ActivationKind::Relu6}), {"leaky"}, "r6");
  g.add(std::make_unique<Pool2d>("avg", false, Pool2dParams{2, 2, 2, 2, 0, 0, true}), {"r6"},
        "avg");
  g.add(std::make_unique<Upsample>("near", UpsampleMode::Nearest, 2), {"avg"}, "near");
  g.add(std::make_unique<Activation>("sig", ActivationParams{ActivationKind::Sigmoid}), {"near"},
        "sig");
  g.add(std::make_unique<Pool2d>("max", true, Pool2dParams{3, 3, 1, 1, 1, 1, true}), {"sig"},
        "max");
  g.add(std::make_unique<Conv2d>("head", 6, 3, 1, Conv2dParams{}, true, 2), {"max"}, "logits");
  g.add_output("logits");
  ModelConfig c = ModelConfig::unet_s(3, 3, 4);
  c.depth = 2;  // the multiple, 2, of the average pooling
  const ModelInfo info = info_for(c);
  const Tensor images = real_looking_images(2, 18, 22, 9);
  const OrtRun ort = run_in_onnx_runtime(g, info, images, OnnxHead::Logits, "layers");
  EXPECT_TRUE(test::close(
      ort.outputs.tensors.at("logits"), to_nchw(cuseg_logits(g, info, images)), kTolerance,
      "leaky relu, relu6, average pooling, nearest upsampling, sigmoid, max pooling", 1));
}

// EfficientNet's and MobileNet's convolutions: "same" (asymmetric) padding, depthwise, grouped.
TEST(OnnxExport, GroupedDepthwiseAndAsymmetricConvolutions) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  // image 18×22 → Conv 3×3 s2 "same" (one row and column of padding, at the bottom and right) →
  // depthwise 3×3 → grouped 1×1 (3 groups) → nearest ×2 → logits
  Graph g;
  g.add_input("image", 3, 2);
  g.add(std::make_unique<Conv2d>("stem", 3, 6, 3, same_padding({2, 2, 0, 0, 1, 1}, 18, 22, 3, 3), true, 1),
        {"image"}, "stem");
  g.add(std::make_unique<Conv2d>("dw", 6, 6, 3, Conv2dParams{.pad_h = 1, .pad_w = 1, .groups = 6}, true, 2),
        {"stem"}, "dw");
  g.add(std::make_unique<Conv2d>("pw", 6, 3, 1, Conv2dParams{.groups = 3}, false, 3), {"dw"}, "pw");
  g.add(std::make_unique<Upsample>("near", UpsampleMode::Nearest, 2), {"pw"}, "logits");
  g.add_output("logits");
  ModelConfig c = ModelConfig::unet_s(3, 3, 4);
  c.depth = 2;  // the multiple, 2, of the stride-2 stem
  const ModelInfo info = info_for(c);
  const Tensor images = real_looking_images(2, 18, 22, 9);
  const OrtRun ort = run_in_onnx_runtime(g, info, images, OnnxHead::Logits, "grouped");
  EXPECT_TRUE(test::close(ort.outputs.tensors.at("logits"), to_nchw(cuseg_logits(g, info, images)), kTolerance,
                          "same padding, depthwise and grouped convolutions", 1));
}

TEST(OnnxExport, CeilModePoolingGlobalPoolingAndResizing) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  // image (18×22) → Conv 3×3 (c1) → MaxPool 3×3 s2 p1 ceil (10×12) → AvgPool 3×3 s2 p1 ceil (6×7, the
  // last windows past the right padding) → resized to c1's size, corners aligned; beside it c1's
  // global average, resized (nearest) to c1's size; concatenated → bilinear to a fixed 7×9 →
  // nearest back to c1's size → Conv 1×1 → logits.
  Graph g;
  g.add_input("image", 3, 2);
  g.add(std::make_unique<Conv2d>("c1", 3, 4, 3, Conv2dParams{1, 1, 1, 1, 1, 1}, true, 1), {"image"}, "c1");
  g.add(std::make_unique<Pool2d>("max", true, Pool2dParams{3, 3, 2, 2, 1, 1, true, true}), {"c1"}, "max");
  g.add(std::make_unique<Pool2d>("avg", false, Pool2dParams{3, 3, 2, 2, 1, 1, true, true}), {"max"}, "avg");
  g.add(Upsample::like("up", UpsampleMode::BilinearAlignCorners), {"avg", "c1"}, "up");
  g.add(std::make_unique<AdaptiveAvgPool2d>("gap"), {"c1"}, "gap");
  g.add(Upsample::like("gap_up", UpsampleMode::Nearest), {"gap", "c1"}, "gap_up");
  g.add(std::make_unique<Concat>("cat", 2), {"up", "gap_up"}, "cat");
  g.add(std::make_unique<Upsample>("down", UpsampleMode::Bilinear, 7, 9), {"cat"}, "down");
  g.add(Upsample::like("back", UpsampleMode::Nearest), {"down", "c1"}, "back");
  g.add(std::make_unique<Conv2d>("head", 8, 3, 1, Conv2dParams{}, true, 2), {"back"}, "logits");
  g.add_output("logits");
  ModelConfig c = ModelConfig::unet_s(3, 3, 4);
  c.depth = 2;
  const ModelInfo info = info_for(c);
  const Tensor images = real_looking_images(2, 18, 22, 9);
  const OrtRun ort = run_in_onnx_runtime(g, info, images, OnnxHead::Logits, "pool_resize");
  EXPECT_TRUE(test::close(ort.outputs.tensors.at("logits"), to_nchw(cuseg_logits(g, info, images)), kTolerance,
                          "ceil-mode pooling, global pooling, resizing to sizes and to another tensor's size", 1));
  // Adaptive pooling to anything but 1×1 has no ONNX operator.
  Graph a;
  a.add_input("image", 3, 1);
  a.add(std::make_unique<AdaptiveAvgPool2d>("pool", 2, 2), {"image"}, "logits");
  a.add_output("logits");
  c.depth = 1;
  test::expect_error([&] { (void)onnx_model(a, info_for(c)); }, {"pool", "AdaptiveAvgPool2d", "2x2"});
}

// FPN's block and EfficientNet's stochastic depth: GroupNorm (random γ, β: fresh ones would hide
// a swapped or ignored tensor) and the dropouts, the identity in evaluation.
TEST(OnnxExport, GroupNormAndTheChannelAndSampleDropouts) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  Graph g;
  g.add_input("image", 3, 1);
  g.add(std::make_unique<Conv2d>("c1", 3, 8, 3, Conv2dParams{1, 1, 1, 1, 1, 1}, true, 1), {"image"}, "c1");
  // GroupNorm(4, 8), then GroupNorm(2, 8) fused with ReLU.
  for (const auto& [name, groups, relu] : {std::tuple{"gn", 4, false}, std::tuple{"gn_relu", 2, true}}) {
    auto gn = std::make_unique<GroupNorm>(name, 8, GroupNormParams{groups, 1e-5}, relu);
    gn->parameters()[0]->value.copy_from(test::random(Shape{8}, 3 + groups, 0.5, 2.0, DType::F32));
    gn->parameters()[1]->value.copy_from(test::random(Shape{8}, 4 + groups, -0.5, 0.5, DType::F32));
    g.add(std::move(gn), {relu ? "gn" : "c1"}, name);
  }
  g.add(std::make_unique<Activation>("relu", ActivationParams{ActivationKind::Relu}), {"gn_relu"}, "relu");
  g.add(std::make_unique<Dropout2d>("drop2d", 0.2, 5), {"relu"}, "drop2d");
  g.add(std::make_unique<DropPath>("droppath", 0.2, 6), {"drop2d"}, "droppath");
  g.add(std::make_unique<Conv2d>("head", 8, 3, 1, Conv2dParams{}, true, 2), {"droppath"}, "logits");
  g.add_output("logits");
  ModelConfig c = ModelConfig::unet_s(3, 3, 4);
  c.depth = 1;
  const ModelInfo info = info_for(c);
  for (const auto& [n, h, w] : {std::tuple{2, 18, 22}, std::tuple{1, 11, 13}}) {
    const Tensor images = real_looking_images(n, h, w, 9);
    const OrtRun ort = run_in_onnx_runtime(g, info, images, OnnxHead::Logits, "group_norm");
    EXPECT_TRUE(test::close(ort.outputs.tensors.at("logits"), to_nchw(cuseg_logits(g, info, images)), kTolerance,
                            str_cat("group norm, dropout2d, drop path ", n, "x", h, "x", w), 1));
  }
}

TEST(OnnxExport, SiluAndAttentionProducts) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  // image → Conv 3×3 → SiLU → { channel attention: global average pooling → Conv 1×1 →
  // sigmoid → x ⊙ s [N,1,1,C];  spatial attention: Conv 1×1 to one channel → sigmoid →
  // x ⊙ s [N,H,W,1] } → Concat → Conv 1×1 → logits. The exporter's tensors are NCHW, where both
  // factors broadcast as they do in NHWC.
  Graph g;
  g.add_input("image", 3, 8);
  g.add(std::make_unique<Conv2d>("c1", 3, 6, 3, Conv2dParams{1, 1, 1, 1, 1, 1}, true, 1), {"image"}, "c1");
  g.add(std::make_unique<Activation>("swish", ActivationParams{ActivationKind::Silu}), {"c1"}, "swish");
  g.add(std::make_unique<AdaptiveAvgPool2d>("squeeze"), {"swish"}, "squeeze");
  g.add(std::make_unique<Conv2d>("excite", 6, 6, 1, Conv2dParams{}, true, 3), {"squeeze"}, "excite");
  g.add(std::make_unique<Activation>("cse", ActivationParams{ActivationKind::Sigmoid}), {"excite"}, "cse");
  g.add(std::make_unique<Multiply>("channel"), {"swish", "cse"}, "channel");
  g.add(std::make_unique<Conv2d>("spatial_conv", 6, 1, 1, Conv2dParams{}, true, 4), {"swish"}, "spatial_conv");
  g.add(std::make_unique<Activation>("sse", ActivationParams{ActivationKind::Sigmoid}), {"spatial_conv"}, "sse");
  g.add(std::make_unique<Multiply>("spatial"), {"swish", "sse"}, "spatial");
  g.add(std::make_unique<Concat>("both", 2), {"channel", "spatial"}, "both");
  g.add(std::make_unique<Conv2d>("head", 12, 3, 1, Conv2dParams{}, true, 2), {"both"}, "logits");
  g.add_output("logits");
  ModelConfig c = ModelConfig::unet_s(3, 3, 4);
  c.depth = 4;
  const ModelInfo info = info_for(c);
  const Tensor images = real_looking_images(2, 8, 8, 9);
  const OrtRun ort = run_in_onnx_runtime(g, info, images, OnnxHead::Logits, "attention");
  EXPECT_TRUE(test::close(ort.outputs.tensors.at("logits"), to_nchw(cuseg_logits(g, info, images)), kTolerance,
                          "silu, channel and spatial attention products", 1));
}

// A layer the exporter has no mapping for.
class Mystery : public Layer {
 public:
  Mystery() : Layer("mystery") {}
  std::string kind() const override { return "Mystery"; }
  Shape output_shape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const std::vector<Tensor>& in, Tensor& out) override { out.copy_from(in[0]); }
  void backward(const std::vector<Tensor>&, const Tensor&, const Tensor&,
                std::vector<Tensor>&) override {}
};

TEST(OnnxExport, RefusesALayerItCannotMapNamingIt) {
  Graph g;
  g.add_input("image", 3, 1);
  g.add(std::make_unique<Mystery>(), {"image"}, "logits");
  g.add_output("logits");
  ModelConfig c = ModelConfig::unet_s(3, 3, 4);
  c.depth = 1;
  test::expect_error([&] { (void)onnx_model(g, info_for(c)); },
                     {"mystery", "Mystery", "no ONNX mapping"});
  test::expect_error([&] { (void)parse_onnx_head("probs"); },
                     {"--head", "probs", "logits, softmax or argmax"});
}

// SMP's DeepLabV3+ (separable dilated convolutions, the ASPP's image pooling resized to its
// input's size, align_corners upsampling): at two sizes and batch sizes, so the pooling branch's
// Resize must take H and W from its input at run time, not from the export.
TEST(OnnxExport, OnnxRuntimeReproducesTheLogitsOfDeepLabV3Plus) {
  CUSEG_REQUIRE_ONNX_ORACLES();
  for (const auto& [encoder, stride] : {std::pair{"resnet18", 16}, std::pair{"mobilenet_v2", 8}}) {
    ModelConfig c = ModelConfig::smp(Architecture::DeepLabV3Plus, encoder, 3, 5);
    c.encoder_output_stride = stride;
    c.decoder_channels = {32};
    c.decoder_atrous_rates = {1, 2, 3};  // the rates reach past the centre tap at these sizes
    auto g = trained_like(c);
    const ModelInfo info = info_for(c);
    expect_onnx_runtime_gives_cusegs_logits(*g, info, {{1, 32, 48}, {2, 64, 32}},
                                            str_cat("deeplabv3plus_", encoder));
  }
}

}  // namespace
}  // namespace cuseg
