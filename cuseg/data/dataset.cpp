#include "cuseg/data/dataset.h"

namespace cuseg {

std::string SegmentationDataset::listing() const {
  std::string out = str_cat(size(), " samples, ", channels(), " channels, classes");
  for (const std::string& name : class_names()) out += " " + name;
  return out;
}

SubsetDataset::SubsetDataset(SegmentationDataset& base, std::vector<size_t> indices)
    : base_(base), indices_(std::move(indices)) {
  for (size_t i : indices_) CUSEG_CHECK(i < base_.size(), "SubsetDataset: sample ", i, " of ", base_.size());
  CUSEG_CHECK(!indices_.empty(), "SubsetDataset: no sample");
}

std::optional<Sample> SubsetDataset::load(size_t i) {
  CUSEG_CHECK(i < indices_.size(), "SubsetDataset: sample ", i, " of ", indices_.size());
  return base_.load(indices_[i]);
}

std::vector<size_t> fold_indices(size_t size, int folds, int fold, bool held_out) {
  CUSEG_CHECK(folds >= 2 && fold >= 0 && fold < folds, "fold ", fold, " of ", folds, ": need 0 ≤ fold < folds, folds ≥ 2");
  CUSEG_CHECK(size >= size_t(folds), size, " samples cannot make ", folds, " folds");
  std::vector<size_t> out;
  for (size_t i = 0; i < size; ++i)
    if ((i % size_t(folds) == size_t(fold)) == held_out) out.push_back(i);
  return out;
}

}  // namespace cuseg
