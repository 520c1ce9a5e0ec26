#include "cuseg/layers/networks.h"

#include "cuseg/layers/layers.h"
#include "cuseg/layers/unet.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg {

namespace {

void add_binary_head(Graph& g, const ModelConfig& config) {
  if (config.classes == 1) g.add(std::make_unique<BinaryLogits>("binary_logits"), {head_output(config)}, "logits");
}

}  // namespace

const char* head_output(const ModelConfig& config) { return config.classes == 1 ? "foreground" : "logits"; }

std::unique_ptr<Graph> build_model(const ModelConfig& config) {
  config.validate();
  if (config.architecture == Architecture::UNetS) {
    auto g = build_unet(config);
    add_binary_head(*g, config);
    return g;
  }
  auto g = std::make_unique<Graph>();
  g->add_input("image", config.in_channels, config.input_multiple());
  zoo::Builder b(*g, config.seed);
  const zoo::Features features = zoo::build_encoder(b, config, "image");
  switch (config.architecture) {
    case Architecture::Unet: zoo::build_unet_decoder(b, config, features); break;
    case Architecture::Fpn: zoo::build_fpn_decoder(b, config, features); break;
    case Architecture::DeepLabV3Plus: zoo::build_deeplabv3plus_decoder(b, config, features); break;
    case Architecture::UNetS: break;  // above
  }
  add_binary_head(*g, config);
  g->add_output("logits");
  zoo::initialize_like_smp(*g, config);
  return g;
}

}  // namespace cuseg
