#include "cuseg/interop/smp_state.h"

#include <nlohmann/json.hpp>

#include "cuseg/core/error.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/interop/torch_weights.h"
#include "cuseg/layers/networks.h"

namespace cuseg {

namespace {

using State = std::map<std::string, Tensor>;

bool has(const State& s, const std::string& key) { return s.count(key) > 0; }

// Dimension `d` of tensor `key` (PyTorch's layout: a convolution's weight is [O, I, kh, kw]).
int dim_of(const State& s, const std::string& key, int d, const std::string& source) {
  auto it = s.find(key);
  CUSEG_CHECK(it != s.end(), source, ": no '", key, "': not a segmentation_models_pytorch network cuseg knows");
  CUSEG_CHECK(it->second.rank() > d, source, ": '", key, "' is ", it->second.shape().str());
  return int(it->second.dim(d));
}

// The encoder's features' channels at strides 2 … 32 (SMP's out_channels without the input's).
std::vector<int> encoder_channels(const std::string& encoder) {
  if (encoder == "resnet50") return {64, 256, 512, 1024, 2048};
  if (encoder.starts_with("resnet")) return {64, 64, 128, 256, 512};
  if (encoder == "mobilenet_v2") return {16, 24, 32, 96, 1280};
  if (encoder == "efficientnet-b2") return {32, 24, 48, 120, 352};
  return {32, 24, 40, 112, 320};  // efficientnet-b0, -b1
}

std::string encoder_of(const State& s, const std::string& source, int& in_channels) {
  if (has(s, "encoder.conv1.weight")) {
    in_channels = dim_of(s, "encoder.conv1.weight", 1, source);
    if (has(s, "encoder.layer1.0.conv3.weight")) return "resnet50";
    return has(s, "encoder.layer3.5.conv1.weight") ? "resnet34" : "resnet18";
  }
  if (has(s, "encoder.features.0.0.weight")) {
    in_channels = dim_of(s, "encoder.features.0.0.weight", 1, source);
    return "mobilenet_v2";
  }
  in_channels = dim_of(s, "encoder._conv_stem.weight", 1, source);
  if (!has(s, "encoder._blocks.16._project_conv.weight")) return "efficientnet-b0";
  return dim_of(s, "encoder._conv_head.weight", 0, source) == 1408 ? "efficientnet-b2" : "efficientnet-b1";
}

}  // namespace

ModelConfig smp_config_of_state(const State& s, const std::string& source) {
  ModelConfig c;
  c.encoder = encoder_of(s, source, c.in_channels);
  c.classes = dim_of(s, "segmentation_head.0.weight", 0, source);
  if (has(s, "decoder.blocks.0.conv1.0.weight")) {
    c.architecture = Architecture::Unet;
    for (int i = 0; has(s, str_cat("decoder.blocks.", i, ".conv1.0.weight")); ++i)
      c.decoder_channels.push_back(dim_of(s, str_cat("decoder.blocks.", i, ".conv1.0.weight"), 0, source));
    c.encoder_depth = int(c.decoder_channels.size());
    if (has(s, "decoder.blocks.0.attention2.attention.cSE.1.weight")) c.decoder_attention = "scse";
  } else if (has(s, "decoder.p5.weight")) {
    c.architecture = Architecture::Fpn;
    c.decoder_pyramid_channels = dim_of(s, "decoder.p5.weight", 0, source);
    c.decoder_segmentation_channels = dim_of(s, "decoder.seg_blocks.0.block.0.block.0.weight", 0, source);
    c.decoder_merge_policy =
        dim_of(s, "segmentation_head.0.weight", 1, source) == 4 * c.decoder_segmentation_channels ? "cat" : "add";
  } else {
    c.architecture = Architecture::DeepLabV3Plus;
    c.decoder_channels = {dim_of(s, "decoder.aspp.0.convs.0.0.weight", 0, source)};
    const int deepest = dim_of(s, "decoder.aspp.0.convs.0.0.weight", 1, source);
    const std::vector<int> channels = encoder_channels(c.encoder);
    c.encoder_depth = 0;
    for (int depth = 3; depth <= 5; ++depth)
      if (channels[size_t(depth - 1)] == deepest) c.encoder_depth = depth;
    CUSEG_CHECK(c.encoder_depth > 0, source, ": the ASPP reads ", deepest, " channels, no depth of ", c.encoder,
                " has them");
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(str_cat(source, ": ", e.what()));
  }
  return c;
}

ModelConfig smp_config_of_keywords(const std::string& text, const std::string& source) {
  ModelConfig c;
  try {
    const nlohmann::json k = nlohmann::json::parse(text);
    const std::string arch = k.at("arch").get<std::string>();
    bool known = false;
    for (Architecture a : {Architecture::Unet, Architecture::Fpn, Architecture::DeepLabV3Plus})
      if (arch == smp_class_name(a)) c.architecture = a, known = true;
    CUSEG_CHECK(known, "arch '", arch, "' is not Unet, FPN or DeepLabV3Plus");
    c.encoder = k.at("encoder_name").get<std::string>();
    c.encoder_depth = k.value("encoder_depth", 5);
    c.in_channels = k.value("in_channels", 3);
    c.classes = k.value("classes", 1);
    auto dropout = [&](const char* key) {
      if (k.contains(key)) c.decoder_dropout = k.at(key).get<double>();
    };
    switch (c.architecture) {
      case Architecture::Unet:
        if (k.contains("decoder_channels")) c.decoder_channels = k.at("decoder_channels").get<std::vector<int>>();
        if (k.contains("decoder_attention_type") && !k.at("decoder_attention_type").is_null())
          c.decoder_attention = k.at("decoder_attention_type").get<std::string>();
        break;
      case Architecture::Fpn:
        c.decoder_pyramid_channels = k.value("decoder_pyramid_channels", 256);
        c.decoder_segmentation_channels = k.value("decoder_segmentation_channels", 128);
        c.decoder_merge_policy = k.value("decoder_merge_policy", std::string("add"));
        dropout("decoder_dropout");
        break;
      case Architecture::DeepLabV3Plus:
        c.encoder_output_stride = k.value("encoder_output_stride", 16);
        if (k.contains("decoder_channels")) c.decoder_channels = {k.at("decoder_channels").get<int>()};
        if (k.contains("decoder_atrous_rates"))
          c.decoder_atrous_rates = k.at("decoder_atrous_rates").get<std::vector<int>>();
        dropout("decoder_aspp_dropout");
        break;
      case Architecture::UNetS: break;
    }
    c.validate();
  } catch (const nlohmann::json::exception& e) {
    throw_error(str_cat(source, ": malformed smp.create_model keywords (", e.what(), ")"));
  } catch (const Error& e) {
    throw Error(str_cat(source, ": ", e.what()));
  }
  return c;
}

std::unique_ptr<Graph> load_smp_state(const State& state, const std::map<std::string, std::string>& metadata,
                                      const std::string& source, Device device, ModelInfo* info) {
  ModelInfo mi;
  mi.metadata = metadata;
  auto keywords = metadata.find("smp");
  mi.config = keywords != metadata.end() ? smp_config_of_keywords(keywords->second, source)
                                         : smp_config_of_state(state, source);
  if (mi.config.classes == 1)
    mi.class_names = {"background", "foreground"};
  else
    for (int k = 0; k < mi.config.classes; ++k) mi.class_names.push_back(str_cat("class_", k));
  if (mi.config.in_channels == 3) mi.normalization = {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
  auto model = build_model(mi.config);
  load_torch_state_dict(*model, state, source);
  model->to(device);
  model->set_training(false);
  if (info) *info = std::move(mi);
  return model;
}

std::unique_ptr<Graph> load_any_model(const std::string& path, Device device, ModelInfo* info) {
  if (load_safetensors_metadata(path).count("format")) return load_model(path, device, info);  // cuseg's
  const SafetensorsFile file = load_safetensors(path);
  return load_smp_state(file.tensors, file.metadata, path, device, info);
}

}  // namespace cuseg
