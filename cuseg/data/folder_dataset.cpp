#include "cuseg/data/folder_dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cuseg {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  CUSEG_CHECK(in, p.string(), ": cannot open");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

Palette read_palette(const fs::path& p) {
  Palette palette;
  int number = 0;
  for (const std::string& line : read_lines(p)) {
    ++number;
    std::istringstream in(line);
    int r = -1, g = -1, b = -1;
    std::string extra;
    CUSEG_CHECK((in >> r >> g >> b) && !(in >> extra) && r >= 0 && r <= 255 && g >= 0 && g <= 255 && b >= 0 && b <= 255,
                p.string(), ": line ", number, " '", line, "' is not three numbers in [0, 255]");
    for (const auto& c : palette)
      CUSEG_CHECK(!(c[0] == r && c[1] == g && c[2] == b), p.string(), ": colour ", r, " ", g, " ", b, " appears twice");
    palette.push_back({uint8_t(r), uint8_t(g), uint8_t(b)});
  }
  CUSEG_CHECK(!palette.empty(), p.string(), ": empty palette");
  return palette;
}

}  // namespace

FolderDataset::FolderDataset(const FolderDatasetConfig& config) : config_(config) {
  CUSEG_CHECK(config.channels == 1 || config.channels == 3 || config.channels == 4, "dataset: channels must be 1, 3 or 4");
  const fs::path root(config.root), split = root / config.split;
  const fs::path images = split / "images", masks = split / "masks";
  CUSEG_CHECK(fs::is_directory(images), images.string(), ": no such folder (expected DIR/", config.split, "/images)");
  for (const auto& entry : fs::directory_iterator(images)) {
    if (!entry.is_regular_file() || !is_image_file(entry.path().string())) continue;
    const std::string stem = entry.path().stem().string();
    const fs::path mask = masks / (stem + ".png");
    if (!fs::exists(mask)) {
      const std::string problem = str_cat(entry.path().string(), ": no mask (expected ", mask.string(), ")");
      CUSEG_CHECK(config.skip_bad, problem);
      ++bad_files_;
      last_problem_ = problem;
      continue;
    }
    names_.push_back(stem);
    image_paths_.push_back(entry.path().string());
    mask_paths_.push_back(mask.string());
  }
  CUSEG_CHECK(!names_.empty(), images.string(), ": the ", config.split, " split has no usable image");
  // Sorted by name: the same order on every file system.
  std::vector<size_t> order(names_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return names_[a] < names_[b]; });
  auto permute = [&](std::vector<std::string>& v) {
    std::vector<std::string> sorted;
    for (size_t i : order) sorted.push_back(v[i]);
    v = std::move(sorted);
  };
  permute(names_);
  permute(image_paths_);
  permute(mask_paths_);

  if (fs::exists(root / "palette.txt")) palette_ = read_palette(root / "palette.txt");
  if (fs::exists(root / "classes.txt")) class_names_ = read_lines(root / "classes.txt");
  if (!class_names_.empty()) {
    classes_ = int(class_names_.size());
    CUSEG_CHECK(palette_.empty() || palette_.size() == class_names_.size(), (root / "palette.txt").string(), ": ",
                palette_.size(), " colours for ", class_names_.size(), " classes in classes.txt");
  } else if (!palette_.empty()) {
    classes_ = int(palette_.size());
  } else if (config.classes > 0) {
    classes_ = config.classes;
  } else {
    // The largest label in the split's masks (read once, here).
    int largest = -1;
    for (const std::string& m : mask_paths_) {
      const Tensor mask = read_mask(m, palette_);
      for (uint8_t v : mask.to_vector<uint8_t>())
        if (int(v) != config.ignore_index) largest = std::max(largest, int(v));
    }
    CUSEG_CHECK(largest >= 0, split.string(), ": every mask pixel is the ignore label; no class to learn");
    classes_ = largest + 1;
  }
  CUSEG_CHECK(config.classes == 0 || config.classes == classes_, root.string(), ": ", classes_,
              " classes in the dataset, ", config.classes, " asked for");
  if (class_names_.empty())
    for (int k = 0; k < classes_; ++k) class_names_.push_back(str_cat("class", k));
}

Sample FolderDataset::load_checked(size_t i) const {
  CUSEG_CHECK(i < names_.size(), "dataset: sample ", i, " of ", names_.size());
  Sample s{names_[i], read_image(image_paths_[i], config_.channels), read_mask(mask_paths_[i], palette_)};
  CUSEG_CHECK(s.labels.dim(0) == s.image.dim(0) && s.labels.dim(1) == s.image.dim(1), mask_paths_[i], ": mask is ",
              s.labels.dim(1), "x", s.labels.dim(0), " but its image ", image_paths_[i], " is ", s.image.dim(1), "x",
              s.image.dim(0));
  const std::vector<uint8_t> labels = s.labels.to_vector<uint8_t>();
  for (size_t p = 0; p < labels.size(); ++p)
    CUSEG_CHECK(int(labels[p]) < classes_ || int(labels[p]) == config_.ignore_index, mask_paths_[i], ": label ",
                int(labels[p]), " at row ", p / size_t(s.labels.dim(1)), ", column ", p % size_t(s.labels.dim(1)),
                " is not below the ", classes_, " classes nor the ignore label ", config_.ignore_index);
  return s;
}

std::optional<Sample> FolderDataset::load(size_t i) {
  if (!config_.skip_bad) return load_checked(i);
  try {
    return load_checked(i);
  } catch (const Error& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    bad_.insert(i);
    last_problem_ = e.what();
    return std::nullopt;
  }
}

std::string FolderDataset::listing() const {
  std::string out = SegmentationDataset::listing();
  for (const std::string& name : names_) out += "\n" + name;
  return out;
}

int64_t FolderDataset::bad_samples() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bad_files_ + int64_t(bad_.size());
}

std::string FolderDataset::last_problem() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_problem_;
}

}  // namespace cuseg
