// segmentation_models_pytorch's UnetDecoder and SegmentationHead (decoders/unet/decoder.py,
// base/heads.py) with their defaults: no center block (SMP adds one for VGG encoders only), one
// block per encoder stage, the deepest feature first. Block i resizes its input (nearest) to the
// next shallower feature's size — twice its own, the input being a multiple of the output stride
// —, concatenates [upsampled, skip] (the last block has no skip: the input image is not one),
// then two Conv 3×3 (no bias) → BatchNorm → ReLU, named "decoder.blocks.{i}.conv{1,2}.{0,1}" as
// SMP's Conv2dReLU sequences are. The head, "segmentation_head.0", is a Conv 3×3 with bias to the
// classes; no upsampling, no activation (logits).
#include "cuseg/core/error.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

void build_unet_decoder(Builder& b, const ModelConfig& config, const Features& features) {
  const std::vector<int> out_channels = config.decoder_channels_or_default();
  const int blocks = int(features.names.size()) - 1;
  CUSEG_CHECK(int(out_channels.size()) == blocks, "unet: ", out_channels.size(),
              " decoder channels for ", blocks, " encoder stages");
  std::string x = features.names.back();
  int channels = features.channels.back();
  for (int i = 0; i < blocks; ++i) {
    const std::string block = str_cat("decoder.blocks.", i);
    x = b.upsample_nearest(block + ".upsample", x, 2);
    const int skip = blocks - 1 - i;  // features[skip] has the size just reached
    if (skip > 0) {
      x = b.concat(block + ".concat", x, features.names[size_t(skip)]);
      channels += features.channels[size_t(skip)];
    }
    const int width = out_channels[size_t(i)];
    for (int k = 1; k <= 2; ++k) {
      const std::string conv = str_cat(block, ".conv", k);
      x = b.conv(conv + ".0", x, k == 1 ? channels : width, width, 3);
      x = b.batch_norm(conv + ".1", x, width, /*relu=*/true);
    }
    channels = width;
  }
  b.conv("segmentation_head.0", x, channels, config.classes, 3, 1, /*bias=*/true, "logits");
}

}  // namespace cuseg::zoo
