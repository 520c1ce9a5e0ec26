#include "cuseg/data/augment.h"

#include <algorithm>
#include <cmath>

#include "cuseg/core/philox.h"

namespace cuseg {

namespace {

// Output (y, x) → source (sy, sx): an affine map  s = origin + (o + ½)·step − ½  after the
// output's flips and rotation.
struct Mapping {
  double origin_y, origin_x, step_y, step_x;
  bool flip_y = false, flip_x = false;
  int quarter_turns = 0;
  double gain = 1, bias = 0;
};

void apply(const Tensor& image, const Tensor& labels, const Mapping& m, int oh, int ow, int ignore, Tensor& out_image,
           Tensor& out_labels) {
  CUSEG_CHECK(image.rank() == 3 && labels.rank() == 2 && image.dim(0) == labels.dim(0) && image.dim(1) == labels.dim(1),
              "augment: image ", image.shape().str(), " and labels ", labels.shape().str(), " do not match");
  CUSEG_CHECK(image.dtype() == DType::F32 && labels.dtype() == DType::U8 && image.device().is_cpu(),
              "augment: expects f32 images and u8 labels on the CPU");
  const int h = int(image.dim(0)), w = int(image.dim(1)), c = int(image.dim(2));
  out_image = Tensor::empty(Shape{oh, ow, c});
  out_labels = Tensor::empty(Shape{oh, ow}, DType::U8);
  const float* src = image.data<float>();
  const uint8_t* lab = labels.data<uint8_t>();
  float* dst = out_image.data<float>();
  uint8_t* dlab = out_labels.data<uint8_t>();
#pragma omp parallel for schedule(static)
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      // Undo the output's rotation and flips to find the unrotated output pixel (u, v).
      int u = y, v = x;
      for (int t = 0; t < m.quarter_turns; ++t) {
        const int nu = v, nv = oh - 1 - u;  // square outputs only when rotating
        u = nu, v = nv;
      }
      if (m.flip_y) u = oh - 1 - u;
      if (m.flip_x) v = ow - 1 - v;
      const double sy = m.origin_y + (u + 0.5) * m.step_y - 0.5, sx = m.origin_x + (v + 0.5) * m.step_x - 0.5;
      // Mask: nearest source pixel, the ignore label outside the image.
      const int ny = int(std::floor(sy + 0.5)), nx = int(std::floor(sx + 0.5));
      const bool inside = ny >= 0 && ny < h && nx >= 0 && nx < w;
      dlab[y * ow + x] = inside ? lab[ny * w + nx] : uint8_t(ignore);
      // Image: bilinear, clamped at the border, 0 outside the image.
      float* out = dst + (int64_t(y) * ow + x) * c;
      if (!inside) {
        for (int k = 0; k < c; ++k) out[k] = 0.f;
        continue;
      }
      const double cy = std::clamp(sy, 0.0, double(h - 1)), cx = std::clamp(sx, 0.0, double(w - 1));
      const int y0 = int(cy), x0 = int(cx), y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
      const double fy = cy - y0, fx = cx - x0;
      for (int k = 0; k < c; ++k) {
        auto at = [&](int yy, int xx) { return double(src[(int64_t(yy) * w + xx) * c + k]); };
        const double v0 = at(y0, x0) * (1 - fx) + at(y0, x1) * fx, v1 = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        out[k] = float(std::clamp(m.gain * (v0 * (1 - fy) + v1 * fy) + m.bias, 0.0, 1.0));
      }
    }
  }
}

}  // namespace

void augment(const Tensor& image, const Tensor& labels, const AugmentConfig& c, uint64_t seed, uint64_t draw,
             Tensor& out_image, Tensor& out_labels) {
  CUSEG_CHECK(c.height > 0 && c.width > 0, "augment: output size must be positive");
  CUSEG_CHECK(c.scale_min > 0 && c.scale_min <= c.scale_max, "augment: need 0 < scale_min ≤ scale_max");
  CUSEG_CHECK(!c.rotations || c.height == c.width, "augment: 90° rotations need a square output (", c.height, "x",
              c.width, ")");
  PhiloxCursor stream{seed ^ (draw * 0x9E3779B97F4A7C15ull)};
  uint64_t i = 0;
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * stream.uniform01(i++); };
  const int h = int(image.dim(0)), w = int(image.dim(1));
  Mapping m;
  const double s = uniform(c.scale_min, c.scale_max);
  m.step_y = m.step_x = 1.0 / s;
  const double win_h = c.height / s, win_w = c.width / s;
  // The window's origin: anywhere it overlaps the image, centred when larger than the image.
  m.origin_y = win_h <= h ? uniform(0, h - win_h) : (h - win_h) / 2;
  m.origin_x = win_w <= w ? uniform(0, w - win_w) : (w - win_w) / 2;
  m.flip_y = c.flips && uniform(0, 1) < 0.5;
  m.flip_x = c.flips && uniform(0, 1) < 0.5;
  m.quarter_turns = c.rotations ? std::min(3, int(uniform(0, 4))) : 0;
  m.gain = uniform(1 - c.contrast, 1 + c.contrast);
  m.bias = uniform(-c.brightness, c.brightness);
  apply(image, labels, m, c.height, c.width, c.ignore_index, out_image, out_labels);
}

void resize_sample(const Tensor& image, const Tensor& labels, int height, int width, Tensor& out_image,
                   Tensor& out_labels) {
  CUSEG_CHECK(height > 0 && width > 0, "resize_sample: output size must be positive");
  Mapping m;
  m.origin_y = m.origin_x = 0;
  m.step_y = double(image.dim(0)) / height;
  m.step_x = double(image.dim(1)) / width;
  // The window is the whole image: no output pixel falls outside it, so no ignore label is needed.
  apply(image, labels, m, height, width, /*ignore=*/0, out_image, out_labels);
}

}  // namespace cuseg
