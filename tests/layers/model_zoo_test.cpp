// The model zoo's networks on their own: their configuration refused where it cannot be built,
// an input size that is not a multiple of the output stride refused in one line, a whole network
// checked against finite differences in double (every parameter's and the input's gradient along
// one random direction), a checkpoint's description read back, and a state dict of another
// network refused before anything is copied. Parity with segmentation_models_pytorch itself:
// smp_parity_test.cpp.
#include <gtest/gtest.h>

#include "cuseg/interop/torch_weights.h"
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

}  // namespace
}  // namespace cuseg
