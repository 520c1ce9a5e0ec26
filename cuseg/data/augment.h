// Training-time augmentation and fixed-size resampling of an image with its mask, kept aligned:
// one geometric map from output pixels to source coordinates serves both, the image sampled
// bilinearly and the mask by nearest neighbour. Every random choice comes from Philox keyed by
// (seed, draw), so a sample's augmentation in an epoch is reproducible, on any machine.
//
//   scale jitter   the source window is out/s pixels for s ∈ [scale_min, scale_max]
//   random crop    the window's position, uniform over the image (padded where the window is
//                  larger: image 0, mask the ignore label)
//   flips, 90° rotations of the output
//   brightness and contrast jitter   x ← clamp(c·x + b, 0, 1), c ∈ 1 ± contrast, b ∈ ±brightness
#pragma once

#include <cstdint>

#include "cuseg/core/tensor.h"

namespace cuseg {

struct AugmentConfig {
  int height = 256, width = 256;  // output size
  bool flips = true;              // horizontal and vertical, each with probability ½
  bool rotations = true;          // 0, 90, 180 or 270°; needs a square output
  double scale_min = 0.75, scale_max = 1.25;
  double brightness = 0.1, contrast = 0.1;
  int ignore_index = 255;
};

// image [H, W, C] f32, labels [H, W] u8 → out_image [h, w, C], out_labels [h, w].
void augment(const Tensor& image, const Tensor& labels, const AugmentConfig& config, uint64_t seed, uint64_t draw,
             Tensor& out_image, Tensor& out_labels);

// The deterministic counterpart for evaluation: the whole image resized to the output size.
void resize_sample(const Tensor& image, const Tensor& labels, int height, int width, Tensor& out_image,
                   Tensor& out_labels);

}  // namespace cuseg
