// A segmentation dataset in a folder:
//   DIR/{train,val}/images/NAME.{png,jpg,jpeg,bmp}
//   DIR/{train,val}/masks/NAME.png     8-bit class indices (255: ignore), or RGB with palette.txt
//   DIR/classes.txt                    optional: one class name a line, background first
//   DIR/palette.txt                    optional: one "r g b" a line per class, for colour masks
// The class count comes from classes.txt, else palette.txt, else the configuration, else the
// largest label found in the split's masks.
//
// Every problem names the file: a missing or unreadable image, a corrupt or truncated file, an
// image without a mask, a mask whose size differs from its image, a label ≥ the class count that
// is not the ignore label, an empty split. With skip_bad, a bad sample is skipped and counted
// instead of stopping the run.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cuseg/data/image_io.h"

namespace cuseg {

struct FolderDatasetConfig {
  std::string root;
  std::string split = "train";
  int channels = 3;       // 1, 3, or 4 (RGBA: the fourth channel is kept as an input)
  int classes = 0;        // 0: from classes.txt, palette.txt or the masks
  int ignore_index = 255;
  bool skip_bad = false;
};

class FolderDataset : public SegmentationDataset {
 public:
  explicit FolderDataset(const FolderDatasetConfig& config);

  size_t size() const override { return names_.size(); }
  int channels() const override { return config_.channels; }
  int classes() const override { return classes_; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  const Palette& palette() const override { return palette_; }
  const std::string& name(size_t i) const { return names_.at(i); }

  // Loads and validates sample i. A bad sample throws, or with skip_bad returns nothing and is
  // counted once however often it is asked for (bad_samples(), the last reason in last_problem()).
  std::optional<Sample> load(size_t i) override;
  int64_t bad_samples() const override;
  std::string listing() const override;
  std::string last_problem() const;

 private:
  Sample load_checked(size_t i) const;

  FolderDatasetConfig config_;
  std::vector<std::string> names_, image_paths_, mask_paths_;
  std::vector<std::string> class_names_;
  Palette palette_;
  int classes_ = 0;
  mutable std::mutex mutex_;  // guards the three below: load() runs on loader threads
  int64_t bad_files_ = 0;     // images without a mask, found when listing
  std::set<size_t> bad_;      // samples found bad when loading
  std::string last_problem_;
};

}  // namespace cuseg
