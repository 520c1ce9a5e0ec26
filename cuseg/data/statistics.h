// What the trainer learns about its training split before the first step: the per-channel mean
// and standard deviation the inputs are normalized with (stored in the checkpoint, so prediction
// normalizes the same way), and how many pixels each class has, for median-frequency class
// weights. One pass over the split on `threads` threads; the result does not depend on the
// thread count (per-sample sums are added in sample order).
#pragma once

#include <vector>

#include "cuseg/data/dataset.h"

namespace cuseg {

struct Normalization {
  std::vector<double> mean, std;  // one per channel; empty: inputs used as they are
  bool empty() const { return mean.empty(); }
  void validate(int channels) const;
  // image [..., C] f32 in place: (x − mean)/std.
  void apply(Tensor& image) const;
};

struct DatasetStatistics {
  Normalization normalization;
  std::vector<double> class_pixels;     // labelled pixels of each class (ignore label excluded)
  std::vector<double> presence_pixels;  // pixels of the images in which each class appears
  int64_t samples = 0;                  // samples read (bad ones skipped)
};

DatasetStatistics compute_statistics(SegmentationDataset& dataset, int ignore_index = 255, int threads = 2);

// Median-frequency balancing (Eigen & Fergus): freq_k = class_pixels_k / presence_pixels_k,
// w_k = median(freq)/freq_k over the classes present; a class never seen gets weight 1.
std::vector<double> median_frequency_weights(const DatasetStatistics& stats);

}  // namespace cuseg
