#include "cuseg/model/checkpoint.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cuseg/core/number_list.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/layers/networks.h"

namespace cuseg {

using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "cuseg-checkpoint-1";

std::string meta_or_empty(const std::map<std::string, std::string>& metadata, const char* key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}

void check_format(const std::string& path, const std::map<std::string, std::string>& metadata) {
  const std::string format = meta_or_empty(metadata, "format");
  CUSEG_CHECK(format == kFormat, path, ": not a cuseg checkpoint (format '", format, "')");
}

// Splits "model.x" / "optim.x" tensors; anything else is an error.
void split_state(const std::string& path, const SafetensorsFile& file, std::map<std::string, Tensor>& model,
                 std::map<std::string, Tensor>& optim) {
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("model.", 0) == 0) {
      model[name.substr(6)] = t;
    } else if (name.rfind("optim.", 0) == 0) {
      optim[name.substr(6)] = t;
    } else {
      throw_error(str_cat(path, ": unexpected tensor '", name, "'"));
    }
  }
}

}  // namespace

std::string describe_model(const ModelConfig& c) {
  if (c.is_smp()) {
    auto list = [](const std::vector<int>& v) {
      std::string s;
      for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
      return s;
    };
    std::string d = str_cat("smp arch=", architecture_name(c.architecture), " encoder=", c.encoder, " in=",
                            c.in_channels, " classes=", c.classes, " encoder_depth=", c.encoder_depth);
    switch (c.architecture) {
      case Architecture::Unet:
        d += str_cat(" decoder=", list(c.decoder_channels_or_default()));
        if (!c.decoder_attention.empty()) d += " attention=" + c.decoder_attention;
        break;
      case Architecture::Fpn:
        d += str_cat(" pyramid=", c.decoder_pyramid_channels, " segmentation=", c.decoder_segmentation_channels,
                     " merge=", c.decoder_merge_policy, " decoder_dropout=", c.decoder_dropout_or_default());
        break;
      case Architecture::DeepLabV3Plus:
        d += str_cat(" decoder=", list(c.decoder_channels_or_default()), " output_stride=", c.encoder_output_stride,
                     " atrous=", list(c.decoder_atrous_rates), " decoder_dropout=", c.decoder_dropout_or_default());
        break;
      case Architecture::UNetS: break;
    }
    if (c.encoder.starts_with("efficientnet")) d += str_cat(" drop_path=", c.drop_path_rate);
    return d;
  }
  return str_cat("unet in=", c.in_channels, " classes=", c.classes, " base=", c.base, " depth=", c.depth,
                 " bn=", c.batch_norm ? 1 : 0, " up=", c.upsample == UNetUpsample::Bilinear ? "bilinear" : "transposed",
                 " dropout=", c.bottleneck_dropout);
}

ModelConfig parse_model_description(const std::string& text) {
  std::istringstream in(text);
  std::string kind, word;
  CUSEG_CHECK((in >> kind) && (kind == "unet" || kind == "smp"), "model description '", text,
              "': neither unet-s ('unet ...') nor a model zoo network ('smp ...')");
  ModelConfig c;
  std::map<std::string, std::string> fields;
  while (in >> word) {
    const size_t eq = word.find('=');
    CUSEG_CHECK(eq != std::string::npos, "model description '", text, "': '", word, "' is not key=value");
    fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  auto field = [&](const char* key) {
    auto it = fields.find(key);
    CUSEG_CHECK(it != fields.end(), "model description '", text, "': no ", key);
    return it->second;
  };
  try {
    c.in_channels = std::stoi(field("in"));
    c.classes = std::stoi(field("classes"));
    if (kind == "smp") {
      c.architecture = parse_architecture(field("arch"));
      CUSEG_CHECK(c.is_smp(), "model description '", text, "': ", field("arch"), " is not a model zoo network");
      c.encoder = field("encoder");
      c.encoder_depth = std::stoi(field("encoder_depth"));
      // Fields an architecture does not have, or that a description written before them lacks,
      // keep their defaults.
      auto optional = [&](const char* key) {
        auto it = fields.find(key);
        return it == fields.end() ? std::optional<std::string>() : it->second;
      };
      if (auto v = optional("decoder")) c.decoder_channels = parse_whole_list(*v, "decoder channels");
      if (auto v = optional("attention")) c.decoder_attention = *v;
      if (auto v = optional("pyramid")) c.decoder_pyramid_channels = std::stoi(*v);
      if (auto v = optional("segmentation")) c.decoder_segmentation_channels = std::stoi(*v);
      if (auto v = optional("merge")) c.decoder_merge_policy = *v;
      if (auto v = optional("decoder_dropout")) c.decoder_dropout = std::stod(*v);
      if (auto v = optional("output_stride")) c.encoder_output_stride = std::stoi(*v);
      if (auto v = optional("atrous")) c.decoder_atrous_rates = parse_whole_list(*v, "atrous rates");
      if (auto v = optional("drop_path")) c.drop_path_rate = std::stod(*v);
    } else {
      c.base = std::stoi(field("base"));
      c.depth = std::stoi(field("depth"));
      c.batch_norm = field("bn") == "1";
      const std::string up = field("up");
      CUSEG_CHECK(up == "bilinear" || up == "transposed", "model description '", text, "': upsampling '", up, "'");
      c.upsample = up == "bilinear" ? UNetUpsample::Bilinear : UNetUpsample::TransposedConv;
      c.bottleneck_dropout = std::stod(field("dropout"));
    }
  } catch (const std::logic_error&) {  // stoi/stod: not a number
    throw_error(str_cat("model description '", text, "': a field is not a number"));
  }
  c.validate();
  return c;
}

std::map<std::string, std::string> ModelInfo::to_metadata() const {
  std::map<std::string, std::string> m = metadata;
  m["model"] = describe_model(config);
  m["classes"] = json(class_names).dump();
  json palette_json = json::array();
  for (const auto& rgb : palette) palette_json.push_back({rgb[0], rgb[1], rgb[2]});
  m["palette"] = palette_json.dump();
  m["normalization"] = json{{"mean", normalization.mean}, {"std", normalization.std}}.dump();
  m["input"] = json{{"height", height}, {"width", width}, {"channels", config.in_channels}}.dump();
  m["ignore_index"] = std::to_string(ignore_index);
  return m;
}

ModelInfo ModelInfo::from_metadata(const std::string& path, const std::map<std::string, std::string>& metadata) {
  check_format(path, metadata);
  ModelInfo info;
  info.metadata = metadata;
  try {
    info.config = parse_model_description(meta_or_empty(metadata, "model"));
    auto parse = [&](const char* key) {
      const std::string text = meta_or_empty(metadata, key);
      CUSEG_CHECK(!text.empty(), "no '", key, "' in the metadata");
      return json::parse(text);
    };
    info.class_names = parse("classes").get<std::vector<std::string>>();
    for (const auto& rgb : parse("palette")) info.palette.push_back({rgb.at(0).get<uint8_t>(), rgb.at(1).get<uint8_t>(), rgb.at(2).get<uint8_t>()});
    const json norm = parse("normalization");
    info.normalization.mean = norm.at("mean").get<std::vector<double>>();
    info.normalization.std = norm.at("std").get<std::vector<double>>();
    const json input = parse("input");
    info.height = input.at("height").get<int>();
    info.width = input.at("width").get<int>();
    info.ignore_index = std::stoi(meta_or_empty(metadata, "ignore_index"));
    CUSEG_CHECK(int(info.class_names.size()) == info.config.label_classes(), info.class_names.size(),
                " class names for ", info.config.label_classes(), " classes");
    CUSEG_CHECK(info.palette.empty() || info.palette.size() == info.class_names.size(), info.palette.size(),
                " palette colours for ", info.class_names.size(), " classes");
    info.normalization.validate(info.config.in_channels);
  } catch (const json::exception& e) {
    throw_error(str_cat(path, ": malformed metadata (", e.what(), ")"));
  } catch (const std::logic_error&) {
    throw_error(str_cat(path, ": malformed metadata (ignore_index)"));
  } catch (const Error& e) {
    throw_error(str_cat(path, ": ", e.what()));
  }
  return info;
}

void save_checkpoint(const std::string& path, Graph& model, const ModelConfig& config, const Optimizer* optimizer,
                     std::map<std::string, std::string> metadata) {
  std::map<std::string, Tensor> tensors;
  for (auto& [name, t] : model.state()) tensors["model." + name] = t;
  if (optimizer)
    for (auto& [name, t] : optimizer->state()) tensors["optim." + name] = t;
  metadata["model"] = describe_model(config);
  metadata["format"] = kFormat;
  save_safetensors(path, tensors, metadata);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, Graph& model, const ModelConfig& config,
                                                   Optimizer* optimizer) {
  const SafetensorsFile file = load_safetensors(path);
  check_format(path, file.metadata);
  const std::string stored = meta_or_empty(file.metadata, "model");
  CUSEG_CHECK(stored == describe_model(config), path, ": checkpoint of another model configuration: it holds '",
              stored, "', this model is '", describe_model(config), "'");
  std::map<std::string, Tensor> model_state, optim_state;
  split_state(path, file, model_state, optim_state);
  try {
    model.load_state(model_state);
    if (optimizer) {
      CUSEG_CHECK(!optim_state.empty(), "the checkpoint holds no optimizer state");
      optimizer->load_state(optim_state);
    }
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  return file.metadata;
}

std::unique_ptr<Graph> load_model(const std::string& path, Device device, ModelInfo* info) {
  const SafetensorsFile file = load_safetensors(path);
  ModelInfo mi = ModelInfo::from_metadata(path, file.metadata);
  std::map<std::string, Tensor> model_state, optim_state;
  split_state(path, file, model_state, optim_state);
  // A damaged or hostile description (base=100000) must not make us allocate a giant model: the
  // deepest 3×3 convolution's weights alone have to be in the file.
  size_t stored = 0;
  for (const auto& [name, t] : model_state) stored += t.nbytes();
  // For the model zoo's networks the decoder's widths are what a description can inflate.
  double widest = 0;
  if (mi.config.is_smp())
    for (int ch : mi.config.decoder_channels_or_default()) widest = std::max(widest, double(ch));
  else
    widest = double(mi.config.base) * double(int64_t(1) << (mi.config.depth - 1));
  CUSEG_CHECK(9.0 * widest * widest * 4.0 <= double(stored), path, ": the model '", describe_model(mi.config),
              "' needs more parameters than the file's ", stored, " bytes hold");
  auto model = build_model(mi.config);
  try {
    model->load_state(model_state);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  model->to(device);
  model->set_training(false);
  if (info) *info = std::move(mi);
  return model;
}

}  // namespace cuseg
