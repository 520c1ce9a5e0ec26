#include "cuseg/data/synthetic.h"

#include <algorithm>
#include <cmath>

#include "cuseg/core/philox.h"

namespace cuseg {

const std::vector<std::string>& synthetic_class_names() {
  static const std::vector<std::string> names = {"background", "circle", "rectangle", "triangle"};
  return names;
}

namespace {

// Draws of one sample: word j of the stream keyed by (seed, sample).
class Draws {
 public:
  Draws(uint64_t seed, int64_t sample) : stream_{seed * 0x9E3779B97F4A7C15ull + uint64_t(sample)} {}
  double uniform(double low, double high) { return low + (high - low) * stream_.uniform01(next_++); }
  int integer(int low, int high) { return std::min(high, low + int(uniform(0, high - low + 1))); }

 private:
  PhiloxCursor stream_;
  uint64_t next_ = 0;
};

struct Shape2d {
  int kind;   // 1 circle, 2 rectangle, 3 triangle: what is drawn
  int label;  // what the mask says: kind, or with label noise another shape class
  double cx, cy, size, angle;
  double px[3], py[3];  // triangle vertices
};

bool inside(const Shape2d& s, double x, double y) {
  const double dx = x - s.cx, dy = y - s.cy;
  if (s.kind == 1) return dx * dx + dy * dy <= s.size * s.size;
  if (s.kind == 2) {
    // A rotated rectangle with half-sides size and 0.6·size.
    const double u = dx * std::cos(s.angle) + dy * std::sin(s.angle), v = -dx * std::sin(s.angle) + dy * std::cos(s.angle);
    return std::abs(u) <= s.size && std::abs(v) <= 0.6 * s.size;
  }
  double sign = 0;
  for (int i = 0; i < 3; ++i) {
    const int j = (i + 1) % 3;
    const double cross = (s.px[j] - s.px[i]) * (y - s.py[i]) - (s.py[j] - s.py[i]) * (x - s.px[i]);
    if (cross != 0) {
      if (sign != 0 && (cross > 0) != (sign > 0)) return false;
      sign = cross;
    }
  }
  return true;
}

// Class textures: a base colour and stripes of a class-specific orientation and period.
double texture(int kind, int channel, double x, double y, double tint) {
  static const double colour[4][3] = {{0.35, 0.35, 0.35}, {0.85, 0.3, 0.25}, {0.25, 0.7, 0.3}, {0.3, 0.35, 0.85}};
  static const double angle[4] = {0.0, 0.0, 0.785, 1.571};
  static const double period[4] = {1e9, 5.0, 7.0, 4.0};
  const double phase = (x * std::cos(angle[kind]) + y * std::sin(angle[kind])) / period[kind];
  const double stripes = 0.12 * std::sin(2 * 3.141592653589793 * phase);
  return colour[kind][channel] + tint + stripes;
}

}  // namespace

void synthetic_batch(const SyntheticConfig& c, int64_t first, int64_t count, Tensor& images, Tensor& labels) {
  CUSEG_CHECK(c.height >= 8 && c.width >= 8 && (c.channels == 1 || c.channels == 3) && c.max_shapes >= 1,
              "synthetic: need height, width ≥ 8, 1 or 3 channels and at least one shape");
  CUSEG_CHECK(first >= 0 && count > 0, "synthetic: bad sample range");
  CUSEG_CHECK(c.label_noise >= 0 && c.label_noise <= 1, "synthetic: label noise ", c.label_noise, " is not in [0, 1]");
  images = Tensor::empty(Shape{count, c.height, c.width, c.channels});
  labels = Tensor::empty(Shape{count, c.height, c.width}, DType::U8);
  float* img = images.data<float>();
  uint8_t* lab = labels.data<uint8_t>();
#pragma omp parallel for schedule(dynamic)
  for (int64_t n = 0; n < count; ++n) {
    Draws d(c.seed, first + n);
    Draws mislabel(c.seed ^ 0x5A17E1AB5A17E1ABull, first + n);  // label noise's own stream
    const int shapes = d.integer(1, c.max_shapes);
    std::vector<Shape2d> list;
    const double min_side = std::min(c.height, c.width);
    for (int i = 0; i < shapes; ++i) {
      Shape2d s{};
      s.kind = d.integer(1, 3);
      s.label = s.kind;
      if (c.label_noise > 0 && mislabel.uniform(0, 1) < c.label_noise)
        s.label = 1 + (s.kind - 1 + mislabel.integer(1, 2)) % 3;  // one of the two other shapes
      s.size = d.uniform(0.08, 0.22) * min_side;
      s.cx = d.uniform(s.size, c.width - s.size);
      s.cy = d.uniform(s.size, c.height - s.size);
      s.angle = d.uniform(0, 3.141592653589793);
      for (int v = 0; v < 3; ++v) {
        const double a = s.angle + v * 2.0943951023931953;
        s.px[v] = s.cx + 1.3 * s.size * std::cos(a);
        s.py[v] = s.cy + 1.3 * s.size * std::sin(a);
      }
      list.push_back(s);
    }
    const double tint = d.uniform(-0.1, 0.1);
    PhiloxCursor noise{c.seed ^ 0xA5A5A5A5A5A5A5A5ull};
    const uint64_t noise_base = uint64_t(first + n) * uint64_t(c.height) * uint64_t(c.width) * uint64_t(c.channels);
    for (int y = 0; y < c.height; ++y) {
      for (int x = 0; x < c.width; ++x) {
        int kind = 0, label = 0;
        for (const Shape2d& s : list)
          if (inside(s, x + 0.5, y + 0.5)) kind = s.kind, label = s.label;
        const int64_t pixel = (n * c.height + y) * c.width + x;
        lab[pixel] = uint8_t(label);
        for (int ch = 0; ch < c.channels; ++ch) {
          const uint64_t j = noise_base + uint64_t(((int64_t(y) * c.width + x) * c.channels + ch));
          const double v = (c.channels == 1 ? (texture(kind, 0, x, y, tint) + texture(kind, 1, x, y, tint) +
                                               texture(kind, 2, x, y, tint)) / 3
                                            : texture(kind, ch, x, y, tint)) +
                           c.noise * (noise.uniform01(j) - 0.5) * 2;
          img[pixel * c.channels + ch] = float(std::clamp(v, 0.0, 1.0));
        }
      }
    }
  }
}

SyntheticDataset::SyntheticDataset(const SyntheticConfig& config, int64_t first, int64_t count)
    : config_(config), first_(first), count_(count) {
  CUSEG_CHECK(first >= 0 && count > 0, "synthetic dataset: samples [", first, ", ", first + count, ")");
}

std::unique_ptr<SegmentationDataset> synthetic_split(const SyntheticConfig& config, int64_t train_size,
                                                     int64_t val_size, const std::string& split) {
  CUSEG_CHECK(split == "train" || split == "val", "synthetic dataset: no split '", split, "'");
  SyntheticConfig val = config;
  val.label_noise = 0;  // validation measures against the truth
  return split == "train" ? std::make_unique<SyntheticDataset>(config, 0, train_size)
                          : std::make_unique<SyntheticDataset>(val, kSyntheticValFirst, val_size);
}

const Palette& SyntheticDataset::palette() const {
  static const Palette none;
  return none;
}

std::optional<Sample> SyntheticDataset::load(size_t i) {
  CUSEG_CHECK(int64_t(i) < count_, "synthetic dataset: sample ", i, " of ", count_);
  Tensor images, labels;
  synthetic_batch(config_, first_ + int64_t(i), 1, images, labels);
  return Sample{str_cat("synthetic_", first_ + int64_t(i)),
                images.view(Shape{config_.height, config_.width, config_.channels}),
                labels.view(Shape{config_.height, config_.width})};
}

}  // namespace cuseg
