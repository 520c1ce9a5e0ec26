// The model zoo against segmentation_models_pytorch 0.6.0 itself (tests/smp_parity.py, in the
// virtual environment over Debian's PyTorch): for each network, SMP's own state dict (as SMP
// initializes it, batch norms randomized) is loaded through the PyTorch-weights path a user's
// file takes (interop/torch_weights.h), then
//   - the evaluation-mode logits,
//   - a training-mode forward with class-weighted cross-entropy and its backward: logits, loss,
//     every parameter's gradient and the updated running statistics,
//   - three momentum-SGD steps on that loss: every parameter and buffer after them,
// agree to 1e-9 in float64, and in float32 as the cases below say; and the weights cuseg then
// exports load into SMP with load_state_dict(strict=True) and give SMP the logits cuseg computes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cuseg/interop/layouts.h"
#include "cuseg/interop/torch_weights.h"
#include "cuseg/layers/networks.h"
#include "cuseg/layers/zoo/builder.h"
#include "cuseg/losses/loss.h"
#include "cuseg/optim/optimizer.h"
#include "error_matchers.h"
#include "test_util.h"
#include "torch_runner.h"

namespace cuseg {
namespace {

struct ZooCase {
  const char* arch;  // architecture_name
  const char* encoder;
  DType dtype;
  int size;                   // of the 2 square input images
  double tolerance;           // logits and loss
  double gradient_tolerance;  // gradients
  double steps_tolerance;     // the parameters and buffers after three SGD steps; 0: not compared
  int encoder_depth = 5;
  const char* attention = "";        // unet's decoder_attention
  const char* merge_policy = "add";  // fpn
  int output_stride = 16;  // deeplabv3plus's encoder_output_stride
};

void PrintTo(const ZooCase& c, std::ostream* os) {
  *os << c.arch << "_" << c.encoder << "_" << dtype_name(c.dtype);
  if (c.merge_policy != std::string("add")) *os << "_" << c.merge_policy;
}

constexpr int kClasses = 4;
constexpr int kBatch = 2;

// The state dict SMP's answer holds under `prefix` ("state.", "after."), without the prefix.
std::map<std::string, Tensor> with_prefix(const SafetensorsFile& f, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : f.tensors)
    if (name.starts_with(prefix)) out[name.substr(prefix.size())] = t;
  return out;
}

// A parameter's gradient in PyTorch's layout (convolution weights OIHW).
Tensor torch_layout(const Tensor& t) {
  return t.rank() == 4 ? to_nchw_weights(t) : t.to(Device::cpu());
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to(Device::cpu()).to(DType::F64).to_vector<double>())
    m = std::max(m, std::abs(v));
  return m;
}

class SmpParity : public ::testing::TestWithParam<ZooCase> {
 protected:
  ModelConfig config() const {
    ModelConfig c =
        ModelConfig::smp(parse_architecture(GetParam().arch), GetParam().encoder, 3, kClasses);
    c.seed = 3;
    c.encoder_depth = GetParam().encoder_depth;
    c.decoder_attention = GetParam().attention;
    c.decoder_merge_policy = GetParam().merge_policy;
    c.encoder_output_stride = GetParam().output_stride;
    if (c.architecture == Architecture::Unet)
      c.decoder_channels = std::vector<int>{256, 128, 64, 32, 16}, c.decoder_channels.resize(size_t(c.encoder_depth));
    // Dropout and drop connect off: their masks are cuseg's Philox streams, not PyTorch's, and are
    // tested on their own (kernels/dropout_test.cpp).
    c.decoder_dropout = 0;
    c.drop_path_rate = 0;
    return c;
  }
  nlohmann::json model_spec(const ModelConfig& c) const {
    return nlohmann::json::parse(torch_model_config(c));
  }

  // The loss both sides compute: class-weighted cross-entropy, ignore label 255.
  void loss_and_backward(Graph& net, Tensor* loss_out = nullptr) {
    net.zero_grad();
    net.forward({{"image", image_}});
    const Tensor& logits = net.get("logits");
    Tensor loss = Tensor::empty(Shape{1}, dtype_), dlogits = Tensor::empty(logits.shape(), dtype_);
    LossOptions o;
    o.class_weights = class_weights_;
    make_loss("ce", o)->compute(logits, labels_, loss, dlogits);
    net.backward({{"logits", dlogits}});
    if (loss_out) *loss_out = loss;
  }

  void SetUp() override {
    dtype_ = GetParam().dtype;
    const int size = GetParam().size;
    image_ = test::random(Shape{kBatch, size, size, 3}, 1, -1, 1, dtype_);
    std::vector<uint8_t> labels(size_t(kBatch * size * size));
    const std::vector<double> u =
        test::random(Shape{int64_t(labels.size())}, 2, 0, 1).to_vector<double>();
    for (size_t i = 0; i < labels.size(); ++i)
      labels[i] = u[i] < 0.1 ? 255 : uint8_t(u[i] * kClasses) % kClasses;
    labels_ = Tensor::from_vector(labels, Shape{kBatch, size, size});
    class_weights_ =
        Tensor::from_vector(std::vector<double>{0.5, 1.0, 2.0, 1.5}, Shape{kClasses}).to(dtype_);
  }

  DType dtype_ = DType::F32;
  Tensor image_, labels_, class_weights_;
};

TEST_P(SmpParity, EvalTrainAndSgdStepsMatchSmpFromItsOwnStateDict) {
  CUSEG_REQUIRE_SMP();
  const ModelConfig c = config();
  const double kTolerance = GetParam().tolerance,
               kGradientTolerance = GetParam().gradient_tolerance,
               kStepsTolerance = GetParam().steps_tolerance;
  const double lr = 0.01, momentum = 0.9;
  const int steps = 3;
  nlohmann::json spec = nlohmann::json::array();
  for (const char* compute : {"weights", "eval", "train", "sgd"})
    if (kStepsTolerance > 0 || compute != std::string("sgd"))
      spec.push_back({{"model", model_spec(c)},
                      {"seed", 5},
                      {"dtype", dtype_name(dtype_)},
                      {"drop_path", 0},
                      {"compute", compute},
                      {"lr", lr},
                      {"momentum", momentum},
                      {"steps", steps}});
  const SafetensorsFile smp = test::run_torch_script(
      "smp_parity.py",
      {{"image", image_}, {"labels", labels_.to(DType::I32)}, {"class_weights", class_weights_}},
      spec.dump(), test::smp_python());
  const std::map<std::string, Tensor> state = with_prefix(smp, "state.");

  auto net = build_model(c);
  net->to(dtype_);
  load_torch_state_dict(*net, state, "SMP's state dict");

  // Evaluation mode.
  net->set_training(false);
  net->forward({{"image", image_}});
  EXPECT_TRUE(
      test::close(net->get("logits"), smp.tensors.at("eval.logits"), kTolerance, "eval logits", 1));

  // Training mode: forward, loss, backward.
  net->set_training(true);
  Tensor loss;
  loss_and_backward(*net, &loss);
  EXPECT_TRUE(test::close(net->get("logits"), smp.tensors.at("train.logits"), kTolerance,
                          "train logits", 1));
  EXPECT_TRUE(test::close(loss, smp.tensors.at("train.loss"), kTolerance, "loss", 1));
  double largest = 0;  // of every gradient
  for (const auto& [name, t] : smp.tensors)
    if (name.starts_with("grad.")) largest = std::max(largest, max_abs(t));
  const double floor = (dtype_ == DType::F64 ? 1e-12 : 1e-6) * largest;
  const bool gradients_compared = kStepsTolerance > 0;  // else the forward only (below)
  int gradients = 0;
  for (Parameter* p : net->parameters()) {
    ASSERT_TRUE(smp.tensors.count("state." + p->name))
        << p->name << " is not a parameter of SMP's model";
    if (!smp.tensors.count("grad." + p->name)) {
      // Run, but its output reaches no loss (MobileNetV2's modules just past a smaller depth):
      // PyTorch leaves its gradient None, cuseg's backward never reaches it.
      EXPECT_TRUE(test::identical(p->grad, Tensor::zeros(p->grad.shape(), dtype_), p->name, 0));
      continue;
    }
    if (gradients_compared) {
      // Some gradients are zero in exact arithmetic — a batch norm's shift whose output reaches
      // the loss only through another train-mode batch norm, which removes any shift
      // (MobileNetV2's projections inside a stage) — and both sides hold roundoff there.
      EXPECT_TRUE(test::close_or_roundoff(torch_layout(p->grad), smp.tensors.at("grad." + p->name),
                                          kGradientTolerance, floor, "gradient of " + p->name, 1));
    }
    ++gradients;
  }
  int running = 0;
  for (auto& [name, value] : net->state())
    if (name.find("running_") != std::string::npos) {
      EXPECT_TRUE(test::close(value, smp.tensors.at("train." + name), kTolerance, name,
                              1));  // of the forward
      ++running;
    }
  EXPECT_EQ(gradients,
            int(std::count_if(smp.tensors.begin(), smp.tensors.end(),
                              [](const auto& kv) { return kv.first.starts_with("grad."); })));
  EXPECT_GT(running, 20);

  // Three momentum-SGD steps from SMP's weights again.
  load_torch_state_dict(*net, state, "SMP's state dict");
  if (gradients_compared) {
    std::vector<ParamRef> refs;
    for (Parameter* p : net->parameters())
      refs.push_back({p->name, p->value, p->grad, p->no_decay});
    OptimizerConfig oc = OptimizerConfig::named("momentum");
    oc.momentum = momentum;
    Optimizer opt(oc, refs);
    for (int s = 0; s < steps; ++s) {
      loss_and_backward(*net);
      opt.step(lr);
    }
    const std::map<std::string, Tensor> after = with_prefix(smp, "after.");
    std::map<std::string, Tensor> mine;  // in PyTorch's layouts, at the model's precision
    for (auto& [name, value] : net->state()) mine[name] = torch_layout(value);
    for (const auto& [name, theirs] : after)
      EXPECT_TRUE(test::close(mine.at(name), theirs, kStepsTolerance,
                              "after " + std::to_string(steps) + " steps: " + name, 1));
  }

  // What cuseg exports loads into SMP strictly and computes what cuseg computes. The file holds
  // float32 whatever the model's precision, so the float64 row of a network checks it for both
  // (a second SMP process per row is a good part of a row's time).
  if (dtype_ != DType::F64) return;
  net->set_training(false);
  net->forward({{"image", image_}});
  std::map<std::string, Tensor> exported = {{"image", image_}};
  for (const auto& [name, t] : torch_state_dict(*net)) exported["state." + name] = t;
  nlohmann::json load = nlohmann::json::array({{{"model", model_spec(c)},
                                                {"seed", 0},
                                                {"dtype", dtype_name(dtype_)},
                                                {"compute", "load"}}});
  const SafetensorsFile loaded =
      test::run_torch_script("smp_parity.py", exported, load.dump(), test::smp_python());
  // The file holds float32 (as PyTorch's own files do): 1e-4 whatever the model's precision.
  EXPECT_TRUE(test::close(net->get("logits"), loaded.tensors.at("eval.logits"), 1e-4,
                          "SMP's logits with cuseg's exported weights", 1));
}

// Float64 holds everything to 1e-9 — the same network, the same arithmetic — but three SGD steps,
// held to 1e-7: they carry the roundoff of gradients that are zero in exact arithmetic (see
// close_or_roundoff) through batch norms over a few elements (MobileNetV2's last stages see 2×2
// pixels here); the ResNets stay within 1e-9 there too.
// Float32 is compared in its forward (logits, loss, running statistics: 1e-4; MobileNetV2 1e-3,
// its training-mode logits passing batch norms over 8 values per channel), not in its gradients:
// no two float32 implementations of a deep ReLU network agree on them closely. An activation
// within roundoff of zero passes its gradient in one and not in the other (ReLU's, ReLU6's and max
// pooling's masks), and one such element moves a layer's gradient by ~1/√(its elements). SMP
// against itself in float64: Unet-resnet18 at 2×64×64, batch norms randomized, seeds 1, 2, 3:
// worst gradient 9e-4, 8e-3 and 7e-6 relative L2, single elements further off (cuseg's float32
// against SMP's float32: up to 4e-2 on resnet50, worst elements 1e-1); MobileNetV2's depthwise
// gradients 10–20%, SMP's and cuseg's (reference or fast path) alike.
INSTANTIATE_TEST_SUITE_P(
    Networks, SmpParity,
    ::testing::Values(ZooCase{"unet", "resnet18", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"unet", "resnet34", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"unet", "resnet50", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"unet", "resnet18", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"unet", "resnet34", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"unet", "resnet50", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"unet", "mobilenet_v2", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"unet", "mobilenet_v2", DType::F32, 64, 1e-3, 0, 0},
                      ZooCase{"unet", "resnet18", DType::F64, 32, 1e-9, 1e-9, 1e-7, 3, "scse"},
                      ZooCase{"unet", "mobilenet_v2", DType::F64, 64, 1e-9, 1e-9, 1e-7, 4},
                      ZooCase{"fpn", "resnet18", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"fpn", "resnet34", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"fpn", "resnet50", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"fpn", "mobilenet_v2", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"fpn", "resnet18", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"fpn", "resnet34", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"fpn", "resnet50", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"fpn", "mobilenet_v2", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"fpn", "resnet18", DType::F64, 64, 1e-9, 1e-9, 1e-7, 5, "", "cat"},
                      // DeepLabV3+'s ASPP pools each image to one value per channel: its
                      // training-mode batch norm sees N = 2 values, x̂ = ±√(var/(var+eps)), and
                      // its backward is zero but for eps/var — a cancellation that multiplies
                      // roundoff by var/eps. On resnet50 (2048 pooled channels, var ≫ eps) SMP
                      // against itself, weights perturbed by 1e-15, moves 7e-6 in three SGD steps
                      // (1.6e-9 with that batch norm's eps at 1): its steps are held to 5e-5.
                      // Its float32 training forward: SMP's own float32 is 1.4e-4 from its
                      // float64 there (resnet18 6e-6; batch norms over 32 values per channel at
                      // the 4×4 ASPP and layer4), so 1e-3 as MobileNetV2's.
                      ZooCase{"deeplabv3plus", "resnet18", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"deeplabv3plus", "resnet34", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"deeplabv3plus", "resnet50", DType::F64, 64, 1e-9, 1e-9, 5e-5},
                      ZooCase{"deeplabv3plus", "mobilenet_v2", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"deeplabv3plus", "resnet18", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"deeplabv3plus", "resnet34", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"deeplabv3plus", "resnet50", DType::F32, 64, 1e-3, 0, 0},
                      ZooCase{"deeplabv3plus", "mobilenet_v2", DType::F32, 64, 1e-3, 0, 0},
                      ZooCase{"deeplabv3plus", "resnet18", DType::F64, 64, 1e-9, 1e-9, 1e-7, 5, "", "add", 8},
                      ZooCase{"deeplabv3plus", "mobilenet_v2", DType::F32, 64, 1e-3, 0, 0, 5, "", "add", 8},
                      ZooCase{"deeplabv3plus", "resnet18", DType::F64, 64, 1e-9, 1e-9, 1e-7, 3},
                      ZooCase{"unet", "efficientnet-b0", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"unet", "efficientnet-b1", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"unet", "efficientnet-b2", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"unet", "efficientnet-b0", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"unet", "efficientnet-b1", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"unet", "efficientnet-b2", DType::F32, 64, 1e-4, 0, 0},
                      // At depth 3 SMP runs b0's blocks 0–8 (one feature past the depth: 5–8
                      // feed nothing, yet train their running statistics) and never 9–15 or the
                      // head; all of them round-trip strictly. 32×32: at depth 3 the decoder's
                      // widest blocks run at the input's resolution (a 64×64 row takes 4× longer).
                      ZooCase{"unet", "efficientnet-b0", DType::F64, 32, 1e-9, 1e-9, 1e-7, 3},
                      ZooCase{"fpn", "efficientnet-b0", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"fpn", "efficientnet-b1", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"fpn", "efficientnet-b2", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"fpn", "efficientnet-b0", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"fpn", "efficientnet-b1", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"fpn", "efficientnet-b2", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"deeplabv3plus", "efficientnet-b0", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"deeplabv3plus", "efficientnet-b1", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"deeplabv3plus", "efficientnet-b2", DType::F64, 64, 1e-9, 1e-9, 1e-7},
                      ZooCase{"deeplabv3plus", "efficientnet-b0", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"deeplabv3plus", "efficientnet-b1", DType::F32, 64, 1e-4, 0, 0},
                      ZooCase{"deeplabv3plus", "efficientnet-b2", DType::F32, 64, 1e-4, 0, 0}),
    [](const auto& info) {
      std::string name = str_cat(info.param.arch, "_", info.param.encoder, "_", dtype_name(info.param.dtype));
      if (info.param.encoder_depth != 5) name += str_cat("_depth", info.param.encoder_depth);
      if (*info.param.attention) name += str_cat("_", info.param.attention);
      if (info.param.merge_policy != std::string("add")) name += str_cat("_", info.param.merge_policy);
      if (info.param.output_stride != 16) name += str_cat("_os", info.param.output_stride);
      for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return name;
    });

// A binary head (classes=1: one output channel, a sigmoid) is cuseg's two-class logits (0, z):
// SMP's logit z is cuseg's "foreground", and cross-entropy on (0, z) — what seg_train --binary
// --loss bce runs — is SMP users' BCEWithLogitsLoss, value and every gradient, in float64.
TEST(SmpBinary, OneOutputChannelIsSmpsSigmoidHeadAndCrossEntropyItsBce) {
  CUSEG_REQUIRE_SMP();
  ModelConfig c = ModelConfig::smp(Architecture::Unet, "resnet18", 3, 1);
  c.encoder_depth = 3, c.decoder_channels = {64, 32, 16};
  const Tensor image = test::random(Shape{2, 32, 32, 3}, 1, -1, 1, DType::F64);
  std::vector<uint8_t> labels(2 * 32 * 32);
  const std::vector<double> u = test::random(Shape{int64_t(labels.size())}, 2, 0, 1).to_vector<double>();
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = u[i] < 0.4 ? 1 : 0;
  const Tensor label_tensor = Tensor::from_vector(labels, Shape{2, 32, 32});
  nlohmann::json spec = nlohmann::json::array();
  for (const char* compute : {"weights", "eval", "train"})
    spec.push_back({{"model", nlohmann::json::parse(torch_model_config(c))},
                    {"seed", 5},
                    {"dtype", "f64"},
                    {"loss", "bce"},
                    {"compute", compute}});
  const SafetensorsFile smp = test::run_torch_script(
      "smp_parity.py", {{"image", image}, {"labels", label_tensor.to(DType::I32)}}, spec.dump(), test::smp_python());
  auto net = build_model(c);
  net->to(DType::F64);
  load_torch_state_dict(*net, with_prefix(smp, "state."), "SMP's state dict");
  net->set_training(false);
  net->forward({{"image", image}});
  const std::vector<double> l = net->get("logits").to_vector<double>();
  std::vector<double> z(l.size() / 2);
  for (size_t i = 0; i < z.size(); ++i) {
    ASSERT_EQ(l[2 * i], 0.0) << "the background's logit, pixel " << i;
    z[i] = l[2 * i + 1];
  }
  EXPECT_TRUE(test::close(Tensor::from_vector(z, Shape{2, 32, 32, 1}), smp.tensors.at("eval.logits"), 1e-9,
                          "the foreground's logit", 1));

  net->set_training(true);
  net->zero_grad();
  net->forward({{"image", image}});
  Tensor loss = Tensor::empty(Shape{1}, DType::F64), dlogits = Tensor::empty(net->get("logits").shape(), DType::F64);
  make_loss("ce")->compute(net->get("logits"), label_tensor, loss, dlogits);
  net->backward({{"logits", dlogits}});
  EXPECT_TRUE(test::close(loss, smp.tensors.at("train.loss"), 1e-9, "binary cross-entropy", 1));
  int compared = 0;
  for (Parameter* p : net->parameters()) {
    EXPECT_TRUE(test::close(torch_layout(p->grad), smp.tensors.at("grad." + p->name), 1e-9, p->name, 1));
    ++compared;
  }
  EXPECT_GT(compared, 40);
}

// ImageNet weights for the encoder alone, as torchvision writes them (fc included): loaded into
// cuseg's model they are what SMP's encoder holds after SMP loads them and adapts its first
// convolution to the input channels (summed for 1, cycled and scaled by 3/C otherwise); the
// decoder and head keep their own.
TEST(SmpEncoderWeights, TorchvisionsWeightsLoadAsSmpLoadsThemForAnyInputChannels) {
  CUSEG_REQUIRE_SMP();
  for (const auto& [encoder, channels] :
       {std::pair{"resnet18", 3}, std::pair{"resnet18", 1}, std::pair{"resnet18", 4},
        std::pair{"mobilenet_v2", 1}, std::pair{"mobilenet_v2", 5},
        // efficientnet_pytorch's EfficientNet (smp_parity.py: _fc.* in the file, ignored)
        std::pair{"efficientnet-b0", 3}, std::pair{"efficientnet-b0", 1},
        std::pair{"efficientnet-b2", 4}}) {
    SCOPED_TRACE(str_cat(encoder, ", ", channels, " channels"));
    const ModelConfig c = ModelConfig::smp(Architecture::Unet, encoder, channels, 2);
    nlohmann::json spec =
        nlohmann::json::array({{{"model", nlohmann::json::parse(torch_model_config(c))},
                                {"seed", 9},
                                {"dtype", "f32"},
                                {"compute", "encoder"}}});
    const SafetensorsFile smp =
        test::run_torch_script("smp_parity.py", {}, spec.dump(), test::smp_python());
    auto net = build_model(c);
    const Tensor head = net->state().at("segmentation_head.0.weight").clone();
    load_encoder_weights(*net, c, with_prefix(smp, "state."), "resnet18.safetensors");
    int checked = 0;
    for (auto& [name, value] : net->state()) {
      if (!name.starts_with("encoder.")) continue;
      const auto it = smp.tensors.find(name);
      ASSERT_NE(it, smp.tensors.end()) << name;
      EXPECT_TRUE(test::close(torch_layout(value), it->second, 1e-6, name, 9));
      ++checked;
    }
    EXPECT_GT(checked, 90) << encoder;
    EXPECT_TRUE(test::identical(net->state().at("segmentation_head.0.weight"), head,
                                "the head, untouched", 0));
  }
  // Weights of another encoder are refused, naming a tensor.
  const ModelConfig r34 = ModelConfig::smp(Architecture::Unet, "resnet34", 3, 2);
  nlohmann::json spec =
      nlohmann::json::array({{{"model", nlohmann::json::parse(torch_model_config(ModelConfig::smp(
                                            Architecture::Unet, "resnet18", 3, 2)))},
                              {"seed", 9},
                              {"dtype", "f32"},
                              {"compute", "encoder"}}});
  const SafetensorsFile r18 =
      test::run_torch_script("smp_parity.py", {}, spec.dump(), test::smp_python());
  auto net = build_model(r34);
  test::expect_error(
      [&] { load_encoder_weights(*net, r34, with_prefix(r18, "state."), "r18.safetensors"); },
      {"r18.safetensors: missing", "encoder.layer1.2.bn1.bias", "an ImageNet resnet34",
       "conv1.weight"});
}

// An encoder's ImageNet weights file as smp_parity.py's "encoder" computation writes it (state.*).
std::map<std::string, Tensor> imagenet_weights(const char* encoder) {
  const ModelConfig c = ModelConfig::smp(Architecture::Unet, encoder, 3, 2);
  const nlohmann::json spec = nlohmann::json::array({{{"model", nlohmann::json::parse(torch_model_config(c))},
                                                      {"seed", 9},
                                                      {"dtype", "f32"},
                                                      {"compute", "encoder"}}});
  return with_prefix(test::run_torch_script("smp_parity.py", {}, spec.dump(), test::smp_python()), "state.");
}

// EfficientNet-b0's ImageNet weights into b1 are refused, naming a tensor and the names expected
// (its weights load as SMP loads them: SmpEncoderWeights above).
TEST(SmpEncoderWeights, AnotherEfficientNetsWeightsAreRefusedNamingTheirNames) {
  CUSEG_REQUIRE_SMP();
  const ModelConfig b1 = ModelConfig::smp(Architecture::Unet, "efficientnet-b1", 3, 2);
  auto net = build_model(b1);
  test::expect_error(
      [&] { load_encoder_weights(*net, b1, imagenet_weights("efficientnet-b0"), "b0.safetensors"); },
      {"b0.safetensors: missing", "encoder._blocks.16._bn0.bias", "an ImageNet efficientnet-b1",
       "efficientnet_pytorch's names: _conv_stem.weight"});
}

// DeepLabV3+'s dilated EfficientNet (SMP's make_dilated: the blocks of stride 16 and 32 past the
// output stride at stride 1, dilated, their static padding gone), the encoder alone against SMP's
// encoder of the same DeepLabV3Plus: every feature, evaluation mode, float64. b2 is the variant
// whose nominal sizes go odd (its static paddings differ most from the dilated ones).
TEST(SmpEncoderFeatures, DilatedEfficientNetMatchesSmpsAtOutputStrides8And16) {
  CUSEG_REQUIRE_SMP();
  for (const int stride : {8, 16}) {
    SCOPED_TRACE(str_cat("output stride ", stride));
    ModelConfig c = ModelConfig::smp(Architecture::DeepLabV3Plus, "efficientnet-b2", 3, 2);
    c.encoder_output_stride = stride;
    c.drop_path_rate = 0;
    const Tensor image = test::random(Shape{2, 64, 64, 3}, 4, -1, 1, DType::F64);
    nlohmann::json spec = nlohmann::json::array();
    for (const char* compute : {"weights", "features"})
      spec.push_back({{"model", nlohmann::json::parse(torch_model_config(c))},
                      {"seed", 5},
                      {"dtype", "f64"},
                      {"drop_path", 0},
                      {"compute", compute}});
    const SafetensorsFile smp = test::run_torch_script("smp_parity.py", {{"image", image}},
                                                       spec.dump(), test::smp_python());
    Graph g;
    g.add_input("image", 3, 1);
    zoo::Builder b(g, 1);
    const zoo::Features f = zoo::build_efficientnet(b, c, "image");
    for (size_t i = 1; i < f.names.size(); ++i) g.add_output(f.names[i]);
    g.to(DType::F64);
    std::map<std::string, Tensor> encoder;
    for (const auto& [name, t] : with_prefix(smp, "state."))
      if (name.starts_with("encoder.")) encoder[name] = t;
    load_torch_state_dict(g, encoder, "SMP's encoder");
    g.set_training(false);
    g.forward({{"image", image}});
    ASSERT_EQ(f.names.size(), 6u);
    for (size_t i = 1; i < f.names.size(); ++i)
      EXPECT_TRUE(test::close(g.get(f.names[i]), smp.tensors.at(str_cat("features.", i)), 1e-9,
                              str_cat("feature ", i), 1));
  }
}

}  // namespace
}  // namespace cuseg
