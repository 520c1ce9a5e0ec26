// What the batch loader, the trainer and the tools read samples from: a numbered set of
// (image, mask) pairs with the class list that goes with them. FolderDataset reads a folder,
// SyntheticDataset draws the built-in shapes, SubsetDataset picks some samples of another (a
// cross-validation fold).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"

namespace cuseg {

using Palette = std::vector<std::array<uint8_t, 3>>;

struct Sample {
  std::string name;
  Tensor image;   // [H, W, C] f32 in [0, 1]
  Tensor labels;  // [H, W] u8
};

class SegmentationDataset {
 public:
  virtual ~SegmentationDataset() = default;
  virtual size_t size() const = 0;
  virtual int channels() const = 0;
  virtual int classes() const = 0;
  virtual const std::vector<std::string>& class_names() const = 0;
  virtual const Palette& palette() const = 0;  // empty: masks hold class indices
  // Sample i, or nothing when it is bad and bad samples are skipped (see FolderDataset).
  // Safe to call from several threads at once.
  virtual std::optional<Sample> load(size_t i) = 0;
  virtual int64_t bad_samples() const { return 0; }
  // What identifies the data: size, channels, class names (a folder adds every sample's name).
  // Data-parallel ranks compare it before training (dist/communicator.h).
  virtual std::string listing() const;
};

// Samples `indices` of `base`, in that order.
class SubsetDataset : public SegmentationDataset {
 public:
  SubsetDataset(SegmentationDataset& base, std::vector<size_t> indices);
  size_t size() const override { return indices_.size(); }
  int channels() const override { return base_.channels(); }
  int classes() const override { return base_.classes(); }
  const std::vector<std::string>& class_names() const override { return base_.class_names(); }
  const Palette& palette() const override { return base_.palette(); }
  std::optional<Sample> load(size_t i) override;
  int64_t bad_samples() const override { return base_.bad_samples(); }

 private:
  SegmentationDataset& base_;
  std::vector<size_t> indices_;
};

// Fold `fold` of `folds` (sample i is in fold i mod folds): the held-out part, or the rest.
std::vector<size_t> fold_indices(size_t size, int folds, int fold, bool held_out);

}  // namespace cuseg
