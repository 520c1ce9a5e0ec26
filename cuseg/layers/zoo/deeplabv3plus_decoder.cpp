// segmentation_models_pytorch's DeepLabV3PlusDecoder and SegmentationHead
// (decoders/deeplabv3/decoder.py, model.py, base/heads.py) with SMP's default separable ASPP.
//   decoder.aspp.0 — the ASPP on the deepest feature (stride encoder_output_stride, or 8 at encoder
//     depth 3): five branches, each to decoder_channels: convs.0 Conv 1×1 → BN → ReLU; convs.1–3
//     SeparableConv2d (depthwise 3×3 at the atrous rate, padding the rate, then pointwise 1×1,
//     ".0.0", ".0.1") → BN ".1" → ReLU; convs.4 global average pool → Conv 1×1 ".1" → BN ".2" →
//     ReLU, resized back (bilinear, align_corners=False) to the feature's size. Their concatenation
//     → project: Conv 1×1 → BN → ReLU → Dropout (elementwise, decoder_dropout).
//   decoder.aspp.1 SeparableConv2d 3×3 (".0", ".1"), decoder.aspp.2 BN → ReLU;
//   decoder.up: bilinear, align_corners=True, ×4 where the ASPP ran at stride 16, else ×2 — to
//     features[2]'s stride 4;
//   decoder.block1 on features[2]: Conv 1×1 to 48 → BN → ReLU; concatenated [aspp, block1];
//   decoder.block2: SeparableConv2d 3×3 → BN → ReLU;
//   segmentation_head.0: Conv 1×1 with bias to the classes, then ×4 bilinear, align_corners=True.
// No convolution here has a bias but the head's (SMP passes bias=False to every one).
#include "cuseg/core/error.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/networks.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

namespace {

// SMP's SeparableConv2d: depthwise k×k (groups = channels) at `dilation`, then pointwise 1×1,
// named "<name>.0" and "<name>.1".
std::string separable_conv(Builder& b, const std::string& name, const std::string& in,
                           int in_channels, int out_channels, int dilation) {
  Conv2dParams p = conv_params(3, 1, dilation);
  p.groups = in_channels;
  const std::string x = b.conv(name + ".0", in, in_channels, in_channels, 3, p);
  return b.conv(name + ".1", x, in_channels, out_channels, 1);
}

std::string conv_bn_relu(Builder& b, const std::string& name, const std::string& in,
                         int in_channels, int out_channels) {
  const std::string x = b.conv(name + ".0", in, in_channels, out_channels, 1);
  return b.batch_norm(name + ".1", x, out_channels, /*relu=*/true);
}

std::string aspp(Builder& b, const ModelConfig& config, const std::string& in, int in_channels,
                 int width) {
  const std::string aspp = "decoder.aspp.0";
  std::vector<std::string> branches;
  branches.push_back(conv_bn_relu(b, aspp + ".convs.0", in, in_channels, width));
  for (int i = 1; i <= 3; ++i) {
    const std::string conv = str_cat(aspp, ".convs.", i);
    const std::string x = separable_conv(b, conv + ".0", in, in_channels, width,
                                         config.decoder_atrous_rates[size_t(i - 1)]);
    branches.push_back(b.batch_norm(conv + ".1", x, width, /*relu=*/true));
  }
  // Image pooling: the feature's mean, one value per channel and image, spread back over it.
  const std::string pool = aspp + ".convs.4";
  std::string x = b.add(std::make_unique<AdaptiveAvgPool2d>(pool + ".0"), {in}, pool + ".0");
  x = b.conv(pool + ".1", x, in_channels, width, 1);
  x = b.batch_norm(pool + ".2", x, width, /*relu=*/true);
  branches.push_back(b.add(Upsample::like(pool + ".resize", UpsampleMode::Bilinear), {x, in},
                           pool + ".resize"));
  x = b.add(std::make_unique<Concat>(aspp + ".cat", int(branches.size())), branches, aspp + ".cat");
  x = conv_bn_relu(b, aspp + ".project", x, 5 * width, width);
  return b.add(std::make_unique<Dropout>(aspp + ".project.3", config.decoder_dropout_or_default(),
                                         b.next_seed()),
               {x}, aspp + ".project.3");
}

}  // namespace

void build_deeplabv3plus_decoder(Builder& b, const ModelConfig& config, const Features& features) {
  const int width = config.decoder_channels_or_default().at(0);
  const int depth = int(features.names.size()) - 1;
  CUSEG_CHECK(depth >= 3, "deeplabv3plus: encoder depth ", depth, " is below 3");
  std::string x = aspp(b, config, features.names.back(), features.channels.back(), width);
  x = separable_conv(b, "decoder.aspp.1", x, width, width, 1);
  x = b.batch_norm("decoder.aspp.2", x, width, /*relu=*/true);
  x = b.upsample("decoder.up", x, UpsampleMode::BilinearAlignCorners,
                 config.encoder_output_stride == 16 && depth > 3 ? 4 : 2);
  std::string high = b.conv("decoder.block1.0", features.names[2], features.channels[2], 48, 1);
  high = b.batch_norm("decoder.block1.1", high, 48, /*relu=*/true);
  x = b.concat("decoder.cat", x, high);
  x = separable_conv(b, "decoder.block2.0", x, width + 48, width, 1);
  x = b.batch_norm("decoder.block2.1", x, width, /*relu=*/true);
  x = b.conv("segmentation_head.0", x, width, config.classes, 1, 1, /*bias=*/true);
  b.upsample("segmentation_head.1", x, UpsampleMode::BilinearAlignCorners, 4, head_output(config));
}

}  // namespace cuseg::zoo
