// Inference on whole images of any size: the image is padded (bottom and right, with zeros — the
// mean after normalization) up to the network's multiple and the result cropped back; an image
// larger than `tile` is cut into overlapping tiles, run in batches, and the tiles' class
// probabilities blended with weights that fall off linearly across each overlap, so no seam shows.
#pragma once

#include "cuseg/model/checkpoint.h"

namespace cuseg {

struct PredictConfig {
  int tile = 0;       // 0: whole images; else tiles of tile×tile (a multiple of the network's)
  int overlap = 64;   // pixels shared by neighbouring tiles
  int batch = 4;      // tiles per forward
};

// image [H, W, C] f32 in [0, 1] on the host → class probabilities [H, W, K] f32 on the host.
// Normalization as the checkpoint stored it is applied here.
Tensor predict_probabilities(Graph& model, const ModelInfo& info, const Tensor& image, const PredictConfig& config);

// images [N, H, W, C] f32 in [0, 1], all of one size, in one forward → probabilities [N, H, W, K].
Tensor predict_batch(Graph& model, const ModelInfo& info, const Tensor& images);

// [.., H, W, K] → [.., H, W] u8, the most probable class (the first on ties).
Tensor argmax_classes(const Tensor& probabilities);

// Colours for K classes: the dataset's palette, else a fixed, well-separated one.
Palette class_colours(const ModelInfo& info);
// The image (gray or RGB, alpha dropped) with each pixel's class colour blended in at `alpha`,
// except where the colour is black (the background's by default): [H, W, 3] u8.
Tensor overlay(const Tensor& image, const Tensor& classes, const Palette& colours, double alpha = 0.5);
// The class map in colour: [H, W, 3] u8.
Tensor colourize(const Tensor& classes, const Palette& colours);

}  // namespace cuseg
