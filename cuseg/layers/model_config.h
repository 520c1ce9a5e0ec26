// What network a model is: cuseg's own small U-Net (unet-s), or one of the networks of
// segmentation_models_pytorch 0.6.0 (SMP), named, structured and keyed as SMP names, structures and
// keys them (layers/zoo/), so that an SMP state dict loads without a mapping table.
//
//   unet-s          cuseg's U-Net (layers/unet.h): base, depth, batch_norm, upsample, dropout
//   unet            SMP's Unet: decoder_channels (one per stage), decoder_attention ("" or scse)
//   fpn             SMP's FPN: decoder_pyramid_channels, decoder_segmentation_channels,
//                   decoder_merge_policy (add or cat), decoder_dropout (its Dropout2d)
//   deeplabv3plus   SMP's DeepLabV3Plus: encoder_output_stride (8 or 16), decoder_channels (one),
//                   decoder_atrous_rates (three), decoder_dropout (the ASPP's)
//
// Each of the three on an encoder, encoder_depth of its stages: resnet18, resnet34, resnet50,
// mobilenet_v2 (torchvision's networks, as SMP wraps them), efficientnet-b0, -b1, -b2 (SMP's
// EfficientNet, lukemelas's efficientnet_pytorch layout; drop_path_rate is its drop connect).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cuseg {

enum class Architecture { UNetS, Unet, Fpn, DeepLabV3Plus };
enum class UNetUpsample { TransposedConv, Bilinear };

const char* architecture_name(Architecture a);  // "unet-s", "unet", "fpn", "deeplabv3plus"
// SMP's class name: "Unet", "FPN", "DeepLabV3Plus".
const char* smp_class_name(Architecture a);
// The architecture of that name; throws naming the ones there are.
Architecture parse_architecture(std::string_view name);
// The names of every architecture and of every encoder, for flags and errors.
const std::vector<std::string>& architecture_names();
const std::vector<std::string>& encoder_names();

struct ModelConfig {
  Architecture architecture = Architecture::UNetS;
  int in_channels = 3;
  int classes = 2;
  uint64_t seed = 0;  // the initial weights' draws

  // unet-s
  int base = 32;
  int depth = 4;
  bool batch_norm = true;
  UNetUpsample upsample = UNetUpsample::TransposedConv;
  double bottleneck_dropout = 0;

  // SMP's networks
  std::string encoder = "resnet34";
  int encoder_depth = 5;               // the encoder's stages used, 3…5 (fpn: 5)
  std::vector<int> decoder_channels;   // empty: the architecture's default (unet, deeplabv3plus)
  std::string decoder_attention;       // unet: "" or "scse"
  int encoder_output_stride = 16;      // deeplabv3plus: 8 or 16 (deeper stages dilated)
  std::vector<int> decoder_atrous_rates = {12, 24, 36};  // deeplabv3plus
  int decoder_pyramid_channels = 256;        // fpn
  int decoder_segmentation_channels = 128;   // fpn
  std::string decoder_merge_policy = "add";  // fpn: add or cat
  std::optional<double> decoder_dropout;     // fpn 0.2, deeplabv3plus 0.5 where unset
  double drop_path_rate = 0.2;  // efficientnet: block i of n drops its residual branch at rate·i/n

  // unet-s with these channels and base width.
  static ModelConfig unet_s(int in_channels, int classes, int base = 32);
  // An SMP network with its defaults.
  static ModelConfig smp(Architecture architecture, const std::string& encoder, int in_channels, int classes);

  bool is_smp() const { return architecture != Architecture::UNetS; }
  // The classes of its masks: `classes`, but 2 (background, foreground) for one output channel,
  // a binary head (BinaryLogits, layers.h).
  int label_classes() const { return classes == 1 ? 2 : classes; }
  // For messages: "unet-s of depth 4", "unet on resnet34, encoder depth 5".
  std::string title() const;
  // decoder_channels, or the architecture's default: Unet (256, 128, 64, 32, 16), the first
  // encoder_depth of them (SMP asks for one per stage and has no default for other depths).
  std::vector<int> decoder_channels_or_default() const;
  double decoder_dropout_or_default() const;
  // The dilation SMP gives the encoder's stage of this stride (4…32): deeplabv3plus dilates the
  // stages past encoder_output_stride (stride stage/output_stride) instead of striding; else 1.
  int dilation_of_stage(int stage_stride) const;
  // Input height and width must be multiples of this: the network's output stride.
  int input_multiple() const;
  void validate() const;
};

}  // namespace cuseg
