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

#include <optional>
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

struct Sample {
  std::string name;
  Tensor image;   // [H, W, C] f32 in [0, 1]
  Tensor labels;  // [H, W] u8
};

class FolderDataset {
 public:
  explicit FolderDataset(const FolderDatasetConfig& config);

  size_t size() const { return names_.size(); }
  int classes() const { return classes_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  const Palette& palette() const { return palette_; }

  // Loads and validates sample i. A bad sample throws, or with skip_bad returns nothing and is
  // counted (bad_samples(), and the last reason in last_problem()).
  std::optional<Sample> load(size_t i);
  int64_t bad_samples() const { return bad_; }
  const std::string& last_problem() const { return last_problem_; }

 private:
  Sample load_checked(size_t i) const;

  FolderDatasetConfig config_;
  std::vector<std::string> names_, image_paths_, mask_paths_;
  std::vector<std::string> class_names_;
  Palette palette_;
  int classes_ = 0;
  int64_t bad_ = 0;
  std::string last_problem_;
};

}  // namespace cuseg
