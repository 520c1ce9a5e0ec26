#include "cuseg/layers/model_config.h"

#include <algorithm>

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
    case Architecture::Fpn: return "fpn";
    case Architecture::DeepLabV3Plus: return "deeplabv3plus";
  }
  return "?";
}

const char* smp_class_name(Architecture a) {
  switch (a) {
    case Architecture::Unet: return "Unet";
    case Architecture::Fpn: return "FPN";
    case Architecture::DeepLabV3Plus: return "DeepLabV3Plus";
    case Architecture::UNetS: break;
  }
  throw_error("unet-s is not a network of segmentation_models_pytorch");
}

const std::vector<std::string>& architecture_names() {
  static const std::vector<std::string> names = {"unet-s", "unet", "fpn", "deeplabv3plus"};
  return names;
}

const std::vector<std::string>& encoder_names() {
  static const std::vector<std::string> names = {"resnet18",        "resnet34",        "resnet50",
                                                  "mobilenet_v2",    "efficientnet-b0", "efficientnet-b1",
                                                  "efficientnet-b2"};
  return names;
}

Architecture parse_architecture(std::string_view name) {
  for (Architecture a :
       {Architecture::UNetS, Architecture::Unet, Architecture::Fpn, Architecture::DeepLabV3Plus})
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
  if (architecture == Architecture::DeepLabV3Plus) return {256};
  if (architecture == Architecture::Fpn) return {};
  const std::vector<int> unet = {256, 128, 64, 32, 16};
  return std::vector<int>(unet.begin(), unet.begin() + std::min<size_t>(unet.size(), size_t(std::max(encoder_depth, 0))));
}

std::string ModelConfig::title() const {
  if (!is_smp()) return str_cat("unet-s of depth ", depth);
  return str_cat(architecture_name(architecture), " on ", encoder, ", encoder depth ", encoder_depth);
}

double ModelConfig::decoder_dropout_or_default() const {
  if (decoder_dropout) return *decoder_dropout;
  return architecture == Architecture::DeepLabV3Plus ? 0.5 : architecture == Architecture::Fpn ? 0.2 : 0.0;
}

int ModelConfig::dilation_of_stage(int stage_stride) const {
  if (architecture != Architecture::DeepLabV3Plus || stage_stride <= encoder_output_stride) return 1;
  return stage_stride / encoder_output_stride;
}

int ModelConfig::input_multiple() const {
  if (!is_smp()) return 1 << (depth - 1);
  if (architecture == Architecture::DeepLabV3Plus) return std::min(encoder_output_stride, 1 << encoder_depth);
  return 1 << encoder_depth;
}

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
  for (int c : channels)
    CUSEG_CHECK(c > 0 && c <= 4096, model, ": decoder channels ", c, " is not in [1, 4096]");
  const double dropout = decoder_dropout_or_default();
  CUSEG_CHECK(dropout >= 0 && dropout < 1, model, ": decoder dropout ", dropout, " is not in [0, 1)");
  CUSEG_CHECK(drop_path_rate >= 0 && drop_path_rate < 1, model, ": drop path rate ", drop_path_rate,
              " is not in [0, 1)");
  switch (architecture) {
    case Architecture::Unet:
      CUSEG_CHECK(int(channels.size()) == encoder_depth, model, ": ", channels.size(),
                  " decoder channels for encoder depth ", encoder_depth, " (one per stage)");
      CUSEG_CHECK(decoder_attention.empty() || decoder_attention == "scse", model,
                  ": decoder attention '", decoder_attention, "' is neither none nor scse");
      if (!decoder_attention.empty())  // scSE squeezes channels by 16
        for (int c : channels)
          CUSEG_CHECK(c >= 16, model, ": decoder channels ", c, " below scSE's reduction of 16");
      break;
    case Architecture::Fpn:
      CUSEG_CHECK(decoder_channels.empty(), model, ": decoder channels are unet's and deeplabv3plus's; fpn's widths ",
                  "are its pyramid and segmentation channels");
      // SMP builds FPN on the last four features and upsamples by 4: at a smaller depth its
      // output is larger than its input (2× at depth 4), which no mask matches.
      CUSEG_CHECK(encoder_depth == 5, model, ": encoder depth ", encoder_depth,
                  " would make SMP's FPN output ", 1 << (5 - encoder_depth),
                  "x the input's size; only 5");
      CUSEG_CHECK(decoder_merge_policy == "add" || decoder_merge_policy == "cat", model,
                  ": merge policy '", decoder_merge_policy, "' is neither add nor cat");
      CUSEG_CHECK(decoder_pyramid_channels > 0 && decoder_pyramid_channels <= 4096 &&
                      decoder_segmentation_channels > 0 && decoder_segmentation_channels <= 4096,
                  model, ": pyramid and segmentation channels must be in [1, 4096]");
      CUSEG_CHECK(decoder_segmentation_channels % 32 == 0, model, ": segmentation channels ",
                  decoder_segmentation_channels, " are not a multiple of GroupNorm's 32 groups");
      break;
    case Architecture::DeepLabV3Plus:
      CUSEG_CHECK(encoder_output_stride == 8 || encoder_output_stride == 16, model,
                  ": encoder output stride ", encoder_output_stride, " is neither 8 nor 16");
      CUSEG_CHECK(channels.size() == 1, model, ": ", channels.size(),
                  " decoder channels; DeepLabV3+ has one width");
      CUSEG_CHECK(decoder_atrous_rates.size() == 3, model, ": ", decoder_atrous_rates.size(),
                  " atrous rates; the ASPP has three");
      for (int r : decoder_atrous_rates)
        CUSEG_CHECK(r >= 1 && r <= 256, model, ": atrous rate ", r, " is not in [1, 256]");
      break;
    case Architecture::UNetS: break;
  }
}

}  // namespace cuseg
