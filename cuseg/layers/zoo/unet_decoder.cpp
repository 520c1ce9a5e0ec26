// segmentation_models_pytorch's UnetDecoder and SegmentationHead (decoders/unet/decoder.py,
// base/heads.py) with their defaults: no center block (SMP adds one for VGG encoders only), one
// block per encoder stage, the deepest feature first. Block i resizes its input (nearest) to the
// next shallower feature's size — twice its own, the input being a multiple of the output stride
// —, concatenates [upsampled, skip] (the last block has no skip: the input image is not one),
// then two Conv 3×3 (no bias) → BatchNorm → ReLU, named "decoder.blocks.{i}.conv{1,2}.{0,1}" as
// SMP's Conv2dReLU sequences are. The head, "segmentation_head.0", is a Conv 3×3 with bias to the
// classes; no upsampling, no activation (logits).
//
// With decoder_attention "scse" each block has two scSE modules (base/modules.py: SCSEModule,
// reduction 16): "attention1" after the concatenation, "attention2" after conv2. scSE(x) =
// x ⊙ cSE(x) + x ⊙ sSE(x), cSE = global average pool → 1×1 conv (C/16, bias) → ReLU → 1×1 conv (C,
// bias) → sigmoid, per channel; sSE = 1×1 conv (1, bias) → sigmoid, per pixel. SMP builds the last
// block's attention1 too, though that block has no skip to concatenate and never applies it: it is
// kept, unused, so the state dict matches.
#include "cuseg/core/error.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/networks.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

namespace {

std::string scse(Builder& b, const std::string& name, const std::string& x, int channels) {
  const std::string cse = name + ".attention.cSE", sse = name + ".attention.sSE";
  const int squeezed = channels / 16;
  std::string c = b.add(std::make_unique<AdaptiveAvgPool2d>(cse + ".0"), {x}, cse + ".0");
  c = b.conv(cse + ".1", c, channels, squeezed, 1, 1, /*bias=*/true);
  c = b.activation(cse + ".2", c, ActivationKind::Relu);
  c = b.conv(cse + ".3", c, squeezed, channels, 1, 1, true);
  c = b.activation(cse + ".4", c, ActivationKind::Sigmoid);
  std::string s = b.conv(sse + ".0", x, channels, 1, 1, 1, true);
  s = b.activation(sse + ".1", s, ActivationKind::Sigmoid);
  c = b.add(std::make_unique<Multiply>(name + ".channel"), {x, c}, name + ".channel");
  s = b.add(std::make_unique<Multiply>(name + ".spatial"), {x, s}, name + ".spatial");
  return b.add(name + ".sum", c, s, /*relu=*/false);
}

}  // namespace

void build_unet_decoder(Builder& b, const ModelConfig& config, const Features& features) {
  const std::vector<int> out_channels = config.decoder_channels_or_default();
  const int blocks = int(features.names.size()) - 1;
  CUSEG_CHECK(int(out_channels.size()) == blocks, "unet: ", out_channels.size(),
              " decoder channels for ", blocks, " encoder stages");
  std::string x = features.names.back();
  int channels = features.channels.back();
  for (int i = 0; i < blocks; ++i) {
    const std::string block = str_cat("decoder.blocks.", i);
    x = b.upsample(block + ".upsample", x, UpsampleMode::Nearest, 2);
    const int skip = blocks - 1 - i;  // features[skip] has the size just reached
    const bool attention = config.decoder_attention == "scse";
    if (skip > 0) {
      x = b.concat(block + ".concat", x, features.names[size_t(skip)]);
      channels += features.channels[size_t(skip)];
    }
    if (attention) {
      b.set_unused(skip == 0);
      const std::string y = scse(b, block + ".attention1", x, channels);
      b.set_unused(false);
      if (skip > 0) x = y;
    }
    const int width = out_channels[size_t(i)];
    for (int k = 1; k <= 2; ++k) {
      const std::string conv = str_cat(block, ".conv", k);
      x = b.conv(conv + ".0", x, k == 1 ? channels : width, width, 3);
      x = b.batch_norm(conv + ".1", x, width, /*relu=*/true);
    }
    if (attention) x = scse(b, block + ".attention2", x, width);
    channels = width;
  }
  b.conv("segmentation_head.0", x, channels, config.classes, 3, 1, /*bias=*/true, head_output(config));
}

}  // namespace cuseg::zoo
