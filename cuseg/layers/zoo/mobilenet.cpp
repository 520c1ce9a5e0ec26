// torchvision's MobileNetV2 as segmentation_models_pytorch's MobileNetV2Encoder uses it
// (encoders/mobilenet.py), width 1: features.0 is Conv 3×3/2 → BatchNorm → ReLU6 to 32 channels;
// features.1 … features.17 are inverted residuals (expand 1×1 → BN → ReLU6, unless the expansion
// is 1; depthwise 3×3 (stride) → BN → ReLU6; project 1×1 → BN; plus the input where the stride is
// 1 and the width stays), named as torchvision names the modules of its `conv` sequence;
// features.18 is Conv 1×1 → BN → ReLU6 to 1280. The classifier is dropped, as SMP drops it.
// Features: the input, then the outputs of features.1 (stride 2), .3 (4), .6 (8), .13 (16) and
// .18 (32), the first encoder_depth + 1 of them. Past the depth SMP's loop still runs the modules
// up to the next feature's (it stops only once it has one feature too many), so cuseg runs them
// too — their batch norms' running statistics move as SMP's do, their output unused — and keeps
// the ones after, unused, as SMP's state dict holds them. DeepLabV3+ dilates features.7–13 (stride 16) and 14–18 (32) past its output
// stride: stride 1 and the stage's dilation for each of their convolutions.
#include <array>

#include "cuseg/core/error.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

namespace {

// One Conv2dNormActivation: convolution, batch norm, ReLU6, named "<name>.0", ".1", ".2".
std::string conv_bn_relu6(Builder& b, const std::string& name, const std::string& in,
                          int in_channels, int out_channels, int kernel, int stride, int groups,
                          int dilation = 1) {
  Conv2dParams p = conv_params(kernel, stride, dilation);
  p.groups = groups;
  std::string x = b.conv(name + ".0", in, in_channels, out_channels, kernel, p);
  x = b.batch_norm(name + ".1", x, out_channels, /*relu=*/false);
  return b.activation(name + ".2", x, ActivationKind::Relu6);
}

std::string inverted_residual(Builder& b, const std::string& name, const std::string& in,
                              int in_channels, int out_channels, int stride, int expansion,
                              int dilation) {
  const int hidden = in_channels * expansion;
  const std::string conv = name + ".conv";
  std::string x = in;
  int k = 0;  // the index in torchvision's `conv` sequence
  if (expansion != 1)
    x = conv_bn_relu6(b, str_cat(conv, ".", k++), x, in_channels, hidden, 1, 1, 1, dilation);
  x = conv_bn_relu6(b, str_cat(conv, ".", k++), x, hidden, hidden, 3, stride, hidden, dilation);
  x = b.conv(str_cat(conv, ".", k++), x, hidden, out_channels, 1, conv_params(1, 1, dilation));
  x = b.batch_norm(str_cat(conv, ".", k++), x, out_channels, false);
  if (stride == 1 && in_channels == out_channels) x = b.add(name + ".add", x, in, /*relu=*/false);
  return x;
}

struct Stage {
  int expansion, channels, blocks, stride;
};

// torchvision's inverted_residual_setting (t, c, n, s) at width 1.
constexpr std::array<Stage, 7> kStages = {{{1, 16, 1, 1},
                                           {6, 24, 2, 2},
                                           {6, 32, 3, 2},
                                           {6, 64, 4, 2},
                                           {6, 96, 3, 1},
                                           {6, 160, 3, 2},
                                           {6, 320, 1, 1}}};
constexpr std::array<int, 5> kFeatureIndexes = {1, 3, 6, 13, 18};  // SMP's _out_indexes

// The stride of features.index's output stage, as SMP's get_stages groups them (7–13: 16,
// 14–18: 32); the earlier ones are never dilated.
int stage_stride(int index) { return index >= 14 ? 32 : index >= 7 ? 16 : 8; }

}  // namespace

Features build_mobilenet_v2(Builder& b, const ModelConfig& config, const std::string& input) {
  Features f;
  f.names.push_back(input);
  f.channels.push_back(config.in_channels);
  const int last_index = kFeatureIndexes[size_t(config.encoder_depth - 1)];
  const int run_until = config.encoder_depth < 5 ? kFeatureIndexes[size_t(config.encoder_depth)] : 18;
  std::string x = conv_bn_relu6(b, "encoder.features.0", input, config.in_channels, 32, 3, 2, 1);
  int channels = 32, index = 1;
  auto keep_if_feature = [&] {
    for (int i : kFeatureIndexes)
      if (i == index) {
        f.names.push_back(x);
        f.channels.push_back(channels);
      }
  };
  for (const Stage& s : kStages)
    for (int i = 0; i < s.blocks; ++i, ++index) {
      b.set_unused(index > run_until);
      x = inverted_residual(b, str_cat("encoder.features.", index), x, channels, s.channels,
                            i == 0 ? s.stride : 1, s.expansion,
                            config.dilation_of_stage(stage_stride(index)));
      channels = s.channels;
      if (index <= last_index) keep_if_feature();
    }
  b.set_unused(index > run_until);  // features.18
  x = conv_bn_relu6(b, "encoder.features.18", x, channels, 1280, 1, 1, 1,
                    config.dilation_of_stage(32));
  channels = 1280;
  if (index <= last_index) keep_if_feature();
  b.set_unused(false);
  return f;
}

}  // namespace cuseg::zoo
