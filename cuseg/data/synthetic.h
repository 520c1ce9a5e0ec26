// The built-in synthetic segmentation dataset: random textured shapes — circles, rectangles,
// triangles — on a noisy background. Class 0 is the background, 1 circle, 2 rectangle,
// 3 triangle. Each class has its own texture (a colour, a stripe orientation and frequency) and
// every sample draws its shapes' sizes, positions, colours and noise from Philox with the
// sample's index, so sample i of a seed is the same on every machine and in any order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuseg/data/dataset.h"

namespace cuseg {

struct SyntheticConfig {
  int height = 64, width = 64;
  int channels = 3;          // 1: gray, 3: RGB
  int max_shapes = 4;        // 1 to max_shapes shapes per image, later ones drawn on top
  double noise = 0.15;       // background and texture noise amplitude
  // The share of shapes whose label is another shape class than the one drawn (label noise, to
  // make a split a network can overfit), from a Philox stream of its own: the images, and the
  // labels of every other shape, are those of label_noise 0.
  double label_noise = 0;
  uint64_t seed = 0;
};

// Class names, background first: {"background", "circle", "rectangle", "triangle"}.
const std::vector<std::string>& synthetic_class_names();

// Samples [first, first + count): images [count, H, W, C] f32 in [0, 1], labels [count, H, W] u8.
void synthetic_batch(const SyntheticConfig& config, int64_t first, int64_t count, Tensor& images, Tensor& labels);

// Where the validation split of the built-in dataset starts: the same seed, other samples.
constexpr int64_t kSyntheticValFirst = 1'000'000'000;

// Samples [first, first + count) of a seed as a dataset; a different seed or range makes the
// validation split (synthetic_split: never with label noise).
class SyntheticDataset : public SegmentationDataset {
 public:
  SyntheticDataset(const SyntheticConfig& config, int64_t first, int64_t count);
  size_t size() const override { return size_t(count_); }
  int channels() const override { return config_.channels; }
  int classes() const override { return int(synthetic_class_names().size()); }
  const std::vector<std::string>& class_names() const override { return synthetic_class_names(); }
  const Palette& palette() const override;
  std::optional<Sample> load(size_t i) override;

 private:
  SyntheticConfig config_;
  int64_t first_, count_;
};

// seg_train's built-in dataset: split "train" is samples [0, train_size) of the config's seed,
// "val" samples [kSyntheticValFirst, kSyntheticValFirst + val_size); any other split is refused.
std::unique_ptr<SegmentationDataset> synthetic_split(const SyntheticConfig& config, int64_t train_size,
                                                     int64_t val_size, const std::string& split);

}  // namespace cuseg
