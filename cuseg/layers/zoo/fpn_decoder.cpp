// segmentation_models_pytorch's FPNDecoder and SegmentationHead (decoders/fpn/decoder.py,
// base/heads.py) with SMP's nearest interpolation in the pyramid. On the last four features
// c2…c5 (strides 4…32 at encoder depth 5, the only depth whose output is the input's size):
//   p5 = 1×1 conv (bias) of c5, "decoder.p5";
//   p4, p3, p2 = nearest ×2 of the coarser level + 1×1 conv (bias) of the skip, FPNBlock's
//     "decoder.p{4,3,2}.skip_conv";
//   seg_blocks 0…3 on p5…p2: 3, 2, 1 and 0 upsamplings to stride 4, each
//     Conv3x3GNReLU "decoder.seg_blocks.{i}.block.{j}": conv 3×3 without bias ("block.0"),
//     GroupNorm(32) with its ReLU fused ("block.1"), then bilinear ×2 with align_corners where it
//     upsamples (seg_blocks.3 has one block that does not);
//   merge: the sum of the four (add) or their concatenation (cat: 4× the channels);
//   Dropout2d (decoder_dropout; none at 0, where SMP's is the identity);
//   head: 1×1 conv (bias) to the classes, "segmentation_head.0", then bilinear ×4 with
//     align_corners (SMP's upsampling=4 default) to "logits".
#include "cuseg/core/error.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/networks.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

namespace {

// SMP's SegmentationBlock: `n_upsamples` Conv3x3GNReLU blocks that each double the size (one that
// does not where n_upsamples is 0).
std::string segmentation_block(Builder& b, const std::string& name, std::string x, int in_channels,
                               int channels, int n_upsamples) {
  for (int j = 0; j < std::max(n_upsamples, 1); ++j) {
    const std::string block = str_cat(name, ".block.", j);
    x = b.conv(block + ".block.0", x, j == 0 ? in_channels : channels, channels, 3);
    x = b.add(std::make_unique<GroupNorm>(block + ".block.1", channels, GroupNormParams{32, 1e-5},
                                          /*relu=*/true),
              {x}, block + ".block.1");
    if (n_upsamples > 0) x = b.upsample(block + ".upsample", x, UpsampleMode::BilinearAlignCorners, 2);
  }
  return x;
}

}  // namespace

void build_fpn_decoder(Builder& b, const ModelConfig& config, const Features& features) {
  const size_t n = features.names.size();
  CUSEG_CHECK(n >= 4, "fpn: ", n, " encoder features; the pyramid takes the last four");
  const int pyramid = config.decoder_pyramid_channels;
  const int segmentation = config.decoder_segmentation_channels;
  const bool cat = config.decoder_merge_policy == "cat";

  // The top-down pathway: p5 from the deepest feature, then each finer level.
  std::vector<std::string> p = {b.conv("decoder.p5", features.names[n - 1], features.channels[n - 1],
                                       pyramid, 1, 1, /*bias=*/true)};
  for (int level = 4; level >= 2; --level) {
    const size_t skip = n - 1 - size_t(5 - level);  // c4, c3, c2
    const std::string block = str_cat("decoder.p", level);
    const std::string up =
        b.upsample(block + ".upsample", p.back(), UpsampleMode::Nearest, 2);
    const std::string lateral = b.conv(block + ".skip_conv", features.names[skip],
                                       features.channels[skip], pyramid, 1, 1, /*bias=*/true);
    p.push_back(b.add(block + ".add", up, lateral, /*relu=*/false));
  }

  // Each level to stride 4, then merged.
  std::vector<std::string> s;
  for (int i = 0; i < 4; ++i)
    s.push_back(segmentation_block(b, str_cat("decoder.seg_blocks.", i), p[size_t(i)], pyramid,
                                   segmentation, 3 - i));
  std::string x;
  if (cat) {
    x = b.add(std::make_unique<Concat>("decoder.merge", 4), s, "decoder.merge");
  } else {  // ((s5 + s4) + s3) + s2
    x = s[0];
    for (int i = 1; i < 4; ++i) x = b.add(str_cat("decoder.merge.", i), x, s[size_t(i)], false);
  }
  const double dropout = config.decoder_dropout_or_default();
  if (dropout > 0)
    x = b.add(std::make_unique<Dropout2d>("decoder.dropout", dropout, b.next_seed()), {x},
              "decoder.dropout");

  const std::string head = b.conv("segmentation_head.0", x, cat ? 4 * segmentation : segmentation,
                                  config.classes, 1, 1, /*bias=*/true);
  b.upsample("segmentation_head.1", head, UpsampleMode::BilinearAlignCorners, 4, head_output(config));
}

}  // namespace cuseg::zoo
