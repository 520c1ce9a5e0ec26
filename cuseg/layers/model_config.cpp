#include "cuseg/layers/model_config.h"

#include "cuseg/core/error.h"

namespace cuseg {

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  for (const std::string& n : names)
    if (n == name) return true;
  return false;
}

}  // namespace

const char* architecture_name(Architecture a) {
  switch (a) {
    case Architecture::UNetS: return "unet-s";
    case Architecture::Unet: return "unet";
  }
  return "?";
}

const std::vector<std::string>& architecture_names() {
  static const std::vector<std::string> names = {"unet-s", "unet"};
  return names;
}

const std::vector<std::string>& encoder_names() {
  static const std::vector<std::string> names = {"resnet18", "resnet34", "resnet50", "mobilenet_v2"};
  return names;
}

Architecture parse_architecture(std::string_view name) {
  for (Architecture a : {Architecture::UNetS, Architecture::Unet})
    if (name == architecture_name(a)) return a;
  throw_error(str_cat("model '", name, "' is not one of ", joined(architecture_names())));
}

ModelConfig ModelConfig::unet_s(int in_channels, int classes, int base) {
  ModelConfig c;
  c.in_channels = in_channels, c.classes = classes, c.base = base;
  return c;
}

ModelConfig ModelConfig::smp(Architecture architecture, const std::string& encoder, int in_channels, int classes) {
  ModelConfig c;
  c.architecture = architecture, c.encoder = encoder, c.in_channels = in_channels, c.classes = classes;
  return c;
}

std::vector<int> ModelConfig::decoder_channels_or_default() const {
  if (!decoder_channels.empty()) return decoder_channels;
  const std::vector<int> unet = {256, 128, 64, 32, 16};
  return std::vector<int>(unet.begin(), unet.begin() + std::min<size_t>(unet.size(), size_t(std::max(encoder_depth, 0))));
}

std::string ModelConfig::title() const {
  if (!is_smp()) return str_cat("unet-s of depth ", depth);
  return str_cat(architecture_name(architecture), " on ", encoder, ", encoder depth ", encoder_depth);
}

int ModelConfig::input_multiple() const { return is_smp() ? 1 << encoder_depth : 1 << (depth - 1); }

void ModelConfig::validate() const {
  const char* model = architecture_name(architecture);
  CUSEG_CHECK(in_channels > 0 && classes > 0, model, ": channels and classes must be positive");
  CUSEG_CHECK(classes <= 256, model, ": ", classes, " classes; masks hold at most 256");
  CUSEG_CHECK(in_channels <= 64, model, ": ", in_channels, " input channels is beyond any sensible network (64)");
  if (!is_smp()) {
    CUSEG_CHECK(base > 0, "unet-s: the base width must be positive");
    CUSEG_CHECK(depth >= 1 && depth <= 8, "unet-s: depth ", depth, " is not in [1, 8]");
    CUSEG_CHECK(base <= 4096, "unet-s: base width ", base, " is beyond any sensible U-Net (4096)");
    CUSEG_CHECK(bottleneck_dropout >= 0 && bottleneck_dropout < 1, "unet-s: dropout ", bottleneck_dropout,
                " is not in [0, 1)");
    return;
  }
  CUSEG_CHECK(contains(encoder_names(), encoder), model, ": encoder '", encoder, "' is not one of ",
              joined(encoder_names()));
  CUSEG_CHECK(encoder_depth >= 3 && encoder_depth <= 5, model, ": encoder depth ", encoder_depth,
              " is not in [3, 5]");
  const std::vector<int> channels = decoder_channels_or_default();
  CUSEG_CHECK(int(channels.size()) == encoder_depth, model, ": ", channels.size(),
              " decoder channels for encoder depth ", encoder_depth, " (one per stage)");
  for (int c : channels)
    CUSEG_CHECK(c > 0 && c <= 4096, model, ": decoder channels ", c, " is not in [1, 4096]");
}

}  // namespace cuseg
