// The U-Net builder. Reference configuration unet-s: depth 4, widths [c, 2c, 4c, 8c]; each level
// two (Conv 3×3 pad 1 without bias → BatchNorm → ReLU); 2×2 max pooling between encoder levels;
// each decoder level upsamples (ConvTranspose 2×2 stride 2 with bias, halving the channels — or
// bilinear ×2 then Conv 1×1 with bias), concatenates [skip, upsampled] and applies two
// Conv-BN-ReLU to the skip's width; a 1×1 head with bias gives K logits. Without batch norm the
// 3×3 convolutions carry biases. Optional dropout after the bottleneck.
//
// Graph input "image" [N, H, W, in_channels], output "logits" [N, H, W, classes]; H and W must be
// multiples of 2^(depth−1). Parameter names (and buffers):
//   enc{l}.conv{1,2}.weight       [w, 3, 3, in]           l = 0 … depth−1, w = base·2^l
//   enc{l}.bn{1,2}.{weight,bias,running_mean,running_var}
//   dec{l}.up.{weight,bias}       ConvTranspose [2w, 2, 2, w] (or Conv 1×1 [w, 1, 1, 2w])
//   dec{l}.conv{1,2}.weight, dec{l}.bn{1,2}.*                 l = depth−2 … 0
//   head.{weight,bias}            [classes, 1, 1, base]
#pragma once

#include <cstdint>
#include <memory>

#include "cuseg/layers/graph.h"
#include "cuseg/layers/model_config.h"

namespace cuseg {

// unet-s (config.architecture must be UNetS); layers/networks.h builds any network.
std::unique_ptr<Graph> build_unet(const ModelConfig& config);

}  // namespace cuseg
