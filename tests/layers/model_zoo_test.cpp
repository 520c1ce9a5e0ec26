// The model zoo's networks on their own: their configuration refused where it cannot be built,
// an input size that is not a multiple of the output stride refused in one line, a whole network
// checked against finite differences in double (every parameter's and the input's gradient along
// one random direction), a checkpoint's description read back, and a state dict of another
// network refused before anything is copied. Parity with segmentation_models_pytorch itself:
// smp_parity_test.cpp.
#include <gtest/gtest.h>

#include "cuseg/interop/torch_weights.h"
#include "cuseg/kernels/init.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/networks.h"
#include "cuseg/losses/loss.h"
#include "cuseg/model/checkpoint.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

ModelConfig unet(const std::string& encoder, int in_channels = 3, int classes = 3) {
  return ModelConfig::smp(Architecture::Unet, encoder, in_channels, classes);
}

TEST(ModelZoo, BadConfigurationsAreRefusedNamingWhatIsWrong) {
  ModelConfig c = unet("resnet35");
  expect_error([&] { (void)build_model(c); }, {"encoder 'resnet35' is not one of resnet18, resnet34, resnet50"});
  c = unet("resnet18");
  c.encoder_depth = 6;
  expect_error([&] { (void)build_model(c); }, {"encoder depth 6 is not in [3, 5]"});
  c = unet("resnet18");
  c.decoder_channels = {64, 32};
  expect_error([&] { (void)build_model(c); }, {"2 decoder channels for encoder depth 5"});
  expect_error([&] { (void)parse_architecture("unet++"); }, {"model 'unet++' is not one of unet-s, unet"});
}

TEST(ModelZoo, AnInputSizeOffTheOutputStrideIsOneLineNamingTheMultiple) {
  auto net = build_model(unet("resnet18"));
  EXPECT_EQ(unet("resnet18").input_multiple(), 32);
  expect_error([&] { (void)net->forward({{"image", Tensor::zeros(Shape{1, 48, 64, 3})}}); }, {"[1,48,64,3]: height and width must be multiples of 32"});
  ModelConfig shallow = unet("resnet18");
  shallow.encoder_depth = 3;
  EXPECT_EQ(shallow.input_multiple(), 8);
  auto ok = build_model(shallow);
  ok->set_training(false);
  ok->forward({{"image", Tensor::zeros(Shape{1, 40, 24, 3})}});
  EXPECT_EQ(ok->get("logits").shape(), (Shape{1, 40, 24, 3}));
}

TEST(ModelZoo, OutputsTheLogitsAtTheInputsSizeForEveryEncoderAndInputChannels) {
  for (const char* encoder : {"resnet18", "resnet34", "resnet50"})
    for (int channels : {1, 4}) {
      auto net = build_model(unet(encoder, channels, 2));
      net->set_training(false);
      net->forward({{"image", test::random(Shape{1, 32, 64, channels}, 3, -1, 1, DType::F32)}});
      const Tensor& logits = net->get("logits");
      EXPECT_EQ(logits.shape(), (Shape{1, 32, 64, 2})) << encoder;
      EXPECT_TRUE(test::all_finite(logits, encoder));
    }
}

// The whole network in double, in training mode (batch statistics inside the derivative): the
// gradient of ⟨logits, G⟩ with respect to every parameter tensor, against central differences
// along a random direction of that tensor (tests/test_util.h's gradcheck_direction; each layer's
// gradients are checked element by element in tests/layers/layer_backends_test.cpp: here the
// wiring of the encoder's blocks, their shortcuts and the decoder's skips).
TEST(ModelZoo, UnetResnetGradientsMatchFiniteDifferencesInDouble) {
  for (const char* encoder : {"resnet18", "resnet50"}) {
    ModelConfig c = unet(encoder, 2, 3);
    c.encoder_depth = 3;
    c.decoder_channels = {16, 8, 8};
    auto g = build_model(c);
    g->to(DType::F64);
    const Tensor x = test::random(Shape{2, 16, 16, 2}, 3), gy = test::random(Shape{2, 16, 16, 3}, 4);
    g->zero_grad();
    g->forward({{"image", x}});
    g->backward({{"logits", gy}});
    int checked = 0;
    for (Parameter* p : g->parameters()) {
      const Tensor saved = p->value.clone(), analytic = p->grad.clone();
      auto loss = [&](const Tensor& v) {
        p->value.copy_from(v);
        g->forward({{"image", x}});
        return test::dot(g->get("logits"), gy);
      };
      EXPECT_TRUE(test::gradcheck_direction(loss, saved, analytic, std::string(encoder) + " " + p->name, 1e-5));
      p->value.copy_from(saved);
      ++checked;
    }
    EXPECT_GT(checked, 30) << encoder;
  }
}

TEST(ModelZoo, TheCheckpointDescriptionReadsBack) {
  ModelConfig c = unet("resnet50", 4, 7);
  c.encoder_depth = 4;
  c.decoder_channels = {128, 64, 32, 16};
  const std::string text = describe_model(c);
  EXPECT_EQ(text, "smp arch=unet encoder=resnet50 in=4 classes=7 encoder_depth=4 decoder=128,64,32,16");
  const ModelConfig back = parse_model_description(text);
  EXPECT_EQ(describe_model(back), text);
  EXPECT_TRUE(back.is_smp());
  EXPECT_EQ(back.decoder_channels, c.decoder_channels);
  // unet-s's descriptions, as every checkpoint so far holds them, still read as unet-s.
  const ModelConfig s = parse_model_description(describe_model(ModelConfig::unet_s(3, 4, 8)));
  EXPECT_FALSE(s.is_smp());
  EXPECT_EQ(s.base, 8);
}

TEST(ModelZoo, AStateDictOfAnotherNetworkIsRefusedBeforeAnythingIsCopied) {
  auto r18 = build_model(unet("resnet18"));
  auto r34 = build_model(unet("resnet34"));
  const std::map<std::string, Tensor> before = r34->state();
  const Tensor first = before.at("encoder.conv1.weight").clone();
  expect_error([&] { (void)load_torch_state_dict(*r34, torch_state_dict(*r18), "r18.safetensors"); }, {"r18.safetensors: missing"});
  // Another class count: the head's shapes, both named.
  auto classes5 = build_model(unet("resnet34", 3, 5));
  expect_error([&] { (void)load_torch_state_dict(*r34, torch_state_dict(*classes5), "c5.safetensors"); }, {"segmentation_head.0.weight is [5,16,3,3], the model's [3,16,3,3]"});
  EXPECT_TRUE(test::identical(r34->state().at("encoder.conv1.weight"), first, "untouched", 0));
}

ModelConfig fpn(const std::string& encoder, int in_channels = 3, int classes = 3) {
  return ModelConfig::smp(Architecture::Fpn, encoder, in_channels, classes);
}

// SMP's FPN takes the last four features and upsamples the finest (stride 2^(depth-3)) by 4: only
// at depth 5 is its output the input's size (SMP 0.6.0 itself, a 64×64 input: 128×128 logits at
// depth 4, 256×256 at depth 3, where the "finest feature" is the input image).
TEST(ModelZoo, BadFpnConfigurationsAreRefusedNamingWhatIsWrong) {
  ModelConfig c = fpn("resnet18");
  c.encoder_depth = 4;
  expect_error([&] { (void)build_model(c); }, {"fpn: encoder depth 4 would make SMP's FPN output 2x the input's size; only 5"});
  c = fpn("resnet18");
  c.decoder_merge_policy = "max";
  expect_error([&] { (void)build_model(c); }, {"fpn: merge policy 'max' is neither add nor cat"});
  c = fpn("resnet18");
  c.decoder_segmentation_channels = 48;
  expect_error([&] { (void)build_model(c); }, {"fpn: segmentation channels 48 are not a multiple of GroupNorm's 32 groups"});
  c = fpn("resnet18");
  c.decoder_pyramid_channels = 0;
  expect_error([&] { (void)build_model(c); }, {"fpn: pyramid and segmentation channels must be in [1, 4096]"});
  c = fpn("resnet18");
  c.decoder_channels = {128};
  expect_error([&] { (void)build_model(c); }, {"fpn: decoder channels are unet's and deeplabv3plus's"});
  c = fpn("resnet18");
  c.decoder_dropout = 1;
  expect_error([&] { (void)build_model(c); }, {"fpn: decoder dropout 1 is not in [0, 1)"});
}

// Either merge, any input channels, a non-square input: the logits at the input's size.
TEST(ModelZoo, FpnOutputsTheLogitsAtTheInputsSize) {
  for (const char* merge : {"add", "cat"}) {
    ModelConfig c = fpn("resnet18", 1, 2);
    c.decoder_pyramid_channels = 32;
    c.decoder_segmentation_channels = 32;
    c.decoder_merge_policy = merge;
    auto net = build_model(c);
    EXPECT_EQ(c.input_multiple(), 32);
    net->set_training(true);  // its Dropout2d too
    net->forward({{"image", test::random(Shape{2, 32, 64, 1}, 3, -1, 1, DType::F32)}});
    EXPECT_EQ(net->get("logits").shape(), (Shape{2, 32, 64, 2})) << merge;
    EXPECT_TRUE(test::all_finite(net->get("logits"), merge));
    EXPECT_EQ(net->state().at("segmentation_head.0.weight").shape()[3], merge == std::string("cat") ? 128 : 32);
  }
}

TEST(ModelZoo, AnFpnCheckpointDescriptionReadsBack) {
  ModelConfig c = fpn("mobilenet_v2", 4, 7);
  c.decoder_pyramid_channels = 64;
  c.decoder_segmentation_channels = 96;
  c.decoder_merge_policy = "cat";
  c.decoder_dropout = 0.35;
  const std::string text = describe_model(c);
  EXPECT_EQ(text, "smp arch=fpn encoder=mobilenet_v2 in=4 classes=7 encoder_depth=5 pyramid=64 "
                  "segmentation=96 merge=cat decoder_dropout=0.35");
  const ModelConfig back = parse_model_description(text);
  EXPECT_EQ(describe_model(back), text);
  EXPECT_EQ(back.architecture, Architecture::Fpn);
  EXPECT_EQ(back.decoder_pyramid_channels, 64);
  EXPECT_EQ(back.decoder_segmentation_channels, 96);
  EXPECT_EQ(back.decoder_merge_policy, "cat");
  EXPECT_EQ(back.decoder_dropout_or_default(), 0.35);
  // Unset, the dropout is the architecture's: FPN's 0.2, written out.
  EXPECT_EQ(parse_model_description(describe_model(fpn("resnet18"))).decoder_dropout_or_default(), 0.2);
}

ModelConfig deeplab(const std::string& encoder, int in_channels = 3, int classes = 3) {
  return ModelConfig::smp(Architecture::DeepLabV3Plus, encoder, in_channels, classes);
}

// DeepLabV3+ (zoo/deeplabv3plus_decoder.cpp): its own options refused by name, its input multiple
// SMP's (the encoder's output stride, 2^depth where that is smaller), its logits at the input's
// size, a batch of one refused in training (the ASPP's image pooling leaves its batch norm one
// value per channel, which PyTorch refuses too), its initialization SMP's, and its description
// read back.
TEST(ModelZoo, DeepLabV3PlusConfigurationsInputsInitializationAndDescription) {
  ModelConfig c = deeplab("resnet18");
  c.encoder_output_stride = 4;
  expect_error([&] { (void)build_model(c); }, {"deeplabv3plus: encoder output stride 4 is neither 8 nor 16"});
  c = deeplab("resnet18");
  c.decoder_atrous_rates = {6, 12};
  expect_error([&] { (void)build_model(c); }, {"deeplabv3plus: 2 atrous rates; the ASPP has three"});
  c = deeplab("resnet18");
  c.decoder_channels = {256, 128};
  expect_error([&] { (void)build_model(c); }, {"deeplabv3plus: 2 decoder channels; DeepLabV3+ has one width"});

  EXPECT_EQ(deeplab("resnet18").input_multiple(), 16);
  c = deeplab("mobilenet_v2");
  c.encoder_output_stride = 8;
  EXPECT_EQ(c.input_multiple(), 8);
  c = deeplab("resnet18");
  c.encoder_depth = 3;
  EXPECT_EQ(c.input_multiple(), 8);  // SMP's encoder.output_stride: min(16, 2^3)
  for (const auto& [encoder, stride, depth] :
       {std::tuple{"resnet18", 16, 5}, std::tuple{"mobilenet_v2", 8, 5}, std::tuple{"resnet50", 16, 4},
        std::tuple{"resnet18", 16, 3}}) {
    c = deeplab(encoder, 2, 5);
    c.encoder_output_stride = stride, c.encoder_depth = depth, c.decoder_channels = {32};
    auto net = build_model(c);
    net->set_training(false);
    net->forward({{"image", test::random(Shape{1, 48, 80, 2}, 3, -1, 1, DType::F32)}});
    EXPECT_EQ(net->get("logits").shape(), (Shape{1, 48, 80, 5})) << c.title() << ", stride " << stride;
    EXPECT_TRUE(test::all_finite(net->get("logits"), encoder));
  }
  auto net = build_model(deeplab("resnet18"));
  expect_error([&] { (void)net->forward({{"image", Tensor::zeros(Shape{2, 40, 64, 3})}}); },
               {"[2,40,64,3]: height and width must be multiples of 16"});
  net->set_training(true);
  expect_error([&] { (void)net->forward({{"image", Tensor::zeros(Shape{1, 32, 32, 3})}}); },
               {"BatchNorm2d+ReLU 'decoder.aspp.0.convs.4.2'", "training needs more than one value per channel, given [1,1,1,256]"});

  // SMP's initialize_decoder and initialize_head: kaiming_uniform (fan_in, ReLU's gain √2: bound
  // √(6/fan_in)) for the decoder's convolutions, the depthwise ones' fan_in 3·3; xavier_uniform
  // (bound √(6/(fan_in+fan_out))) for the head's; biases 0. A narrow decoder and many classes
  // set the head's two bounds apart (√(6/32) against √(6/232)).
  c = deeplab("resnet18", 3, 200);
  c.decoder_channels = {32};
  const std::map<std::string, Tensor> state = build_model(c)->state();
  auto largest = [&](const std::string& name) {
    double m = 0;
    for (double v : state.at(name).to(DType::F64).to_vector<double>()) m = std::max(m, std::abs(v));
    return m;
  };
  for (const auto& [name, bound] :
       {std::pair{"decoder.aspp.0.convs.1.0.0.weight", std::sqrt(6.0 / 9)},
        std::pair{"decoder.aspp.0.convs.4.1.weight", std::sqrt(6.0 / 512)},
        std::pair{"decoder.aspp.0.project.0.weight", std::sqrt(6.0 / 160)},
        std::pair{"decoder.block2.0.1.weight", std::sqrt(6.0 / 80)},
        std::pair{"segmentation_head.0.weight", std::sqrt(6.0 / (32 + 200))}}) {
    EXPECT_LE(largest(name), bound) << name;
    EXPECT_GE(largest(name), 0.95 * bound) << name;
  }
  EXPECT_EQ(largest("segmentation_head.0.bias"), 0);

  c = deeplab("mobilenet_v2", 1, 6);
  c.encoder_output_stride = 8;
  c.decoder_channels = {128};
  c.decoder_atrous_rates = {6, 12, 18};
  c.decoder_dropout = 0.25;
  const std::string text = describe_model(c);
  EXPECT_EQ(text, "smp arch=deeplabv3plus encoder=mobilenet_v2 in=1 classes=6 encoder_depth=5 decoder=128 "
                  "output_stride=8 atrous=6,12,18 decoder_dropout=0.25");
  const ModelConfig back = parse_model_description(text);
  EXPECT_EQ(describe_model(back), text);
  EXPECT_EQ(back.architecture, Architecture::DeepLabV3Plus);
  EXPECT_EQ(back.encoder_output_stride, 8);
  EXPECT_EQ(back.decoder_atrous_rates, (std::vector<int>{6, 12, 18}));
  EXPECT_EQ(back.decoder_dropout_or_default(), 0.25);
  // The defaults: stride 16, rates 12, 24, 36, width 256, dropout 0.5.
  EXPECT_EQ(describe_model(deeplab("resnet34")),
            "smp arch=deeplabv3plus encoder=resnet34 in=3 classes=3 encoder_depth=5 decoder=256 output_stride=16 "
            "atrous=12,24,36 decoder_dropout=0.5");
}

// SMP's EfficientNet has no initialization of its own: its convolutions start as PyTorch's
// Conv2d does, weights and biases (the squeeze-and-excitation convolutions') U(±1/√fan_in); its
// batch norms γ = 1, β = 0, eps 1e-3, momentum 0.01. The decoder keeps SMP's decoder initialization.
// And the network computes the logits at the input's size for other input channels too.
TEST(ModelZoo, EfficientNetStartsAsPyTorchsDefaultsAndRunsForAnyInputChannels) {
  for (int channels : {1, 4}) {
    auto net = build_model(unet("efficientnet-b1", channels, 2));
    int convs = 0, biases = 0, norms = 0;
    for (Layer* l : net->layers()) {
      if (const auto* bn = dynamic_cast<BatchNorm2d*>(l); bn && l->name().starts_with("encoder.")) {
        EXPECT_EQ(bn->params().eps, 1e-3) << l->name();
        EXPECT_EQ(bn->params().momentum, 0.01) << l->name();
        ++norms;
      }
      if (!dynamic_cast<Conv2d*>(l) || !l->name().starts_with("encoder.")) continue;
      const std::vector<Parameter*> ps = l->parameters();
      const double bound = 1 / std::sqrt(fans_of(ps.at(0)->value.shape()).in);
      for (Parameter* p : ps) {
        const std::vector<double> v = p->value.to(DType::F64).to_vector<double>();
        double sq = 0, largest = 0;
        for (double x : v) sq += x * x, largest = std::max(largest, std::abs(x));
        EXPECT_LE(largest, bound) << p->name;
        if (v.size() >= 2000) {  // U(±b) has standard deviation b/√3
          EXPECT_NEAR(std::sqrt(sq / double(v.size())), bound / std::sqrt(3.0), 0.05 * bound) << p->name;
        }
        if (p->value.rank() == 1) {
          EXPECT_GT(largest, 0) << p->name;
          ++biases;
        }
      }
      ++convs;
    }
    EXPECT_GT(convs, 100);
    EXPECT_EQ(biases, 2 * 23);  // two squeeze-and-excitation convolutions in each of b1's blocks
    EXPECT_EQ(norms, 1 + 23 * 3 - 2 + 1);  // the stem's, three a block (two without expansion), the head's
    net->set_training(false);
    net->forward({{"image", test::random(Shape{1, 32, 64, channels}, 3, -1, 1, DType::F32)}});
    EXPECT_EQ(net->get("logits").shape(), (Shape{1, 32, 64, 2}));
    EXPECT_TRUE(test::all_finite(net->get("logits"), "efficientnet-b1"));
  }
}

// Drop connect as SMP's EfficientNetEncoder.forward applies it: on the residual branch of each
// block with an identity skip (stride 1, width kept), block i of n at drop_path_rate·i/n.
TEST(ModelZoo, EfficientNetDropsConnectionsWhereAndAsSmpDoes) {
  ModelConfig c = unet("efficientnet-b0");
  c.drop_path_rate = 0.3;
  auto net = build_model(c);
  std::map<std::string, double> rates;
  for (Layer* l : net->layers())
    if (const auto* d = dynamic_cast<DropPath*>(l)) rates[l->name()] = d->p();
  const std::map<std::string, double> expected = {
      {"encoder._blocks.2._drop_connect", 0.3 * 2 / 16},   {"encoder._blocks.4._drop_connect", 0.3 * 4 / 16},
      {"encoder._blocks.6._drop_connect", 0.3 * 6 / 16},   {"encoder._blocks.7._drop_connect", 0.3 * 7 / 16},
      {"encoder._blocks.9._drop_connect", 0.3 * 9 / 16},   {"encoder._blocks.10._drop_connect", 0.3 * 10 / 16},
      {"encoder._blocks.12._drop_connect", 0.3 * 12 / 16}, {"encoder._blocks.13._drop_connect", 0.3 * 13 / 16},
      {"encoder._blocks.14._drop_connect", 0.3 * 14 / 16}};
  EXPECT_EQ(rates, expected);
  c.drop_path_rate = 0;
  auto none = build_model(c);
  for (Layer* l : none->layers()) EXPECT_EQ(dynamic_cast<DropPath*>(l), nullptr) << l->name();
  // The same weights: evaluation is the network without drop connect; training drops branches.
  none->load_state(net->state());
  const Tensor x = test::random(Shape{2, 32, 32, 3}, 3, -1, 1, DType::F32);
  for (Graph* g : {net.get(), none.get()}) g->set_training(false), g->forward({{"image", x}});
  EXPECT_TRUE(test::identical(net->get("logits"), none->get("logits"), "evaluation logits", 0));
  for (Graph* g : {net.get(), none.get()}) g->set_training(true), g->forward({{"image", x}});
  EXPECT_FALSE(test::close(net->get("logits"), none->get("logits"), 1e-3, "training logits", 0));
  net->backward({{"logits", test::random(net->get("logits").shape(), 4, -1, 1, DType::F32)}});
  for (Parameter* p : net->parameters()) EXPECT_TRUE(test::all_finite(p->grad, p->name));
}

}  // namespace
}  // namespace cuseg
