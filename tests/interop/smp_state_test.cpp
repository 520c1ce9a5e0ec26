// Which network a bare segmentation_models_pytorch state dict is (interop/smp_state.h): for every
// architecture and encoder, the state dict of the network cuseg builds — keyed as SMP's, which the
// parity tests prove (tests/layers/smp_parity_test.cpp) — reads back as that network; so do
// smp.create_model's keywords; and what no network of the zoo holds is refused naming the key.
#include "cuseg/interop/smp_state.h"

#include <gtest/gtest.h>

#include "cuseg/interop/torch_weights.h"
#include "cuseg/layers/networks.h"
#include "error_matchers.h"

namespace cuseg {
namespace {

ModelConfig config(Architecture a, const char* encoder, int in, int classes) {
  return ModelConfig::smp(a, encoder, in, classes);
}

std::vector<ModelConfig> networks() {
  std::vector<ModelConfig> out;
  for (const std::string& encoder : encoder_names()) {
    for (Architecture a : {Architecture::Unet, Architecture::Fpn, Architecture::DeepLabV3Plus})
      out.push_back(config(a, encoder.c_str(), 3, 2));
  }
  ModelConfig c = config(Architecture::Unet, "resnet34", 1, 5);
  c.encoder_depth = 3, c.decoder_channels = {64, 32, 16}, c.decoder_attention = "scse";
  out.push_back(c);
  c = config(Architecture::Fpn, "mobilenet_v2", 4, 3);
  c.decoder_pyramid_channels = 64, c.decoder_segmentation_channels = 32, c.decoder_merge_policy = "cat";
  out.push_back(c);
  c = config(Architecture::DeepLabV3Plus, "resnet50", 3, 7);
  c.encoder_depth = 4, c.decoder_channels = {64};
  out.push_back(c);
  return out;
}

TEST(SmpState, EveryNetworkReadsBackFromItsStateDictAndItsKeywords) {
  for (const ModelConfig& c : networks()) {
    SCOPED_TRACE(describe_model(c));
    auto net = build_model(c);
    const std::map<std::string, Tensor> state = torch_state_dict(*net);
    EXPECT_EQ(describe_model(smp_config_of_state(state, "m.safetensors")), describe_model(c));
    EXPECT_EQ(describe_model(smp_config_of_keywords(torch_model_config(c), "m.safetensors")), describe_model(c));
  }
}

TEST(SmpState, WhatIsNoNetworkOfTheZooIsNamed) {
  const ModelConfig c = config(Architecture::Unet, "resnet18", 3, 2);
  std::map<std::string, Tensor> state = torch_state_dict(*build_model(c));
  std::map<std::string, Tensor> headless = state;
  headless.erase("segmentation_head.0.weight");
  test::expect_error([&] { smp_config_of_state(headless, "m.pth"); },
                     {"m.pth: no 'segmentation_head.0.weight'", "not a segmentation_models_pytorch network"});
  std::map<std::string, Tensor> no_encoder;
  for (const auto& [k, t] : state)
    if (!k.starts_with("encoder.")) no_encoder[k] = t;
  test::expect_error([&] { smp_config_of_state(no_encoder, "m.pth"); }, {"m.pth: no 'encoder._conv_stem.weight'"});
  test::expect_error([&] { smp_config_of_keywords(R"({"arch": "Linknet", "encoder_name": "resnet18"})", "m.pth"); },
                     {"m.pth", "arch 'Linknet' is not Unet, FPN or DeepLabV3Plus"});
  test::expect_error([&] { smp_config_of_keywords(R"({"arch": "Unet", "encoder_name": "vgg16"})", "m.pth"); },
                     {"m.pth", "encoder 'vgg16'"});
  test::expect_error([&] { smp_config_of_keywords("{not json", "m.pth"); }, {"m.pth: malformed"});
}

}  // namespace
}  // namespace cuseg
