// What network a model is: cuseg's own small U-Net (unet-s), or one of the networks of
// segmentation_models_pytorch 0.6.0 (SMP), named, structured and keyed as SMP names, structures and
// keys them (layers/zoo/), so that an SMP state dict loads without a mapping table.
//
//   unet-s          cuseg's U-Net (layers/unet.h): base, depth, batch_norm, upsample, dropout
//   unet            SMP's Unet on an encoder: encoder, encoder_depth, decoder_channels
//
// Encoders: resnet18, resnet34, resnet50, mobilenet_v2 (torchvision's networks, as SMP wraps them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cuseg {

enum class Architecture { UNetS, Unet };
enum class UNetUpsample { TransposedConv, Bilinear };

const char* architecture_name(Architecture a);  // "unet-s", "unet"
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
  int encoder_depth = 5;               // the encoder's stages used, 1…5 (SMP: 3…5 for Unet)
  std::vector<int> decoder_channels;   // empty: the architecture's default

  // unet-s with these channels and base width.
  static ModelConfig unet_s(int in_channels, int classes, int base = 32);
  // An SMP network with its defaults.
  static ModelConfig smp(Architecture architecture, const std::string& encoder, int in_channels, int classes);

  bool is_smp() const { return architecture != Architecture::UNetS; }
  // For messages: "unet-s of depth 4", "unet on resnet34, encoder depth 5".
  std::string title() const;
  // decoder_channels, or the architecture's default: Unet (256, 128, 64, 32, 16), the first
  // encoder_depth of them (SMP asks for one per stage and has no default for other depths).
  std::vector<int> decoder_channels_or_default() const;
  // Input height and width must be multiples of this: the network's output stride.
  int input_multiple() const;
  void validate() const;
};

}  // namespace cuseg
