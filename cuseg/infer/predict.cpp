#include "cuseg/infer/predict.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cuseg/kernels/softmax.h"

namespace cuseg {

namespace {

int network_multiple(const ModelInfo& info) { return info.config.input_multiple(); }

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Runs images [N, h, w, C] (normalized, host, h and w multiples of the network's) and returns
// softmax probabilities [N, h, w, K] on the host.
Tensor forward_probabilities(Graph& model, const Tensor& images) {
  model.set_training(false);
  model.forward({{"image", images.to(model.device())}});
  const Tensor& logits = model.get("logits");
  Tensor probs = Tensor::empty(logits.shape(), DType::F32, logits.device());
  softmax_forward(logits, probs);
  return probs.device().is_cpu() ? probs : probs.to(Device::cpu());
}

// Copies image [H, W, C] into the top-left of dst [h, w, C] (already zeroed).
void paste(const Tensor& image, float* dst, int64_t w, int64_t y0, int64_t x0, int64_t rows, int64_t cols) {
  const int64_t W = image.dim(1), C = image.dim(2);
  const float* src = image.data<float>();
  for (int64_t y = 0; y < rows; ++y)
    std::memcpy(dst + y * w * C, src + ((y0 + y) * W + x0) * C, size_t(cols * C) * sizeof(float));
}

// Blending weight across a tile of `size` pixels: 1 in the middle, falling linearly to
// 1/(overlap+1) at the edges over `overlap` pixels.
float ramp(int64_t i, int64_t size, int overlap) {
  const int64_t d = std::min(i, size - 1 - i) + 1;
  return float(std::min<int64_t>(d, overlap + 1)) / float(overlap + 1);
}

std::vector<int64_t> tile_starts(int64_t extent, int64_t tile, int64_t stride) {
  std::vector<int64_t> starts;
  if (extent <= tile) return {0};
  for (int64_t s = 0;; s += stride) {
    if (s + tile >= extent) {
      starts.push_back(extent - tile);  // the last tile ends at the image's edge
      break;
    }
    starts.push_back(s);
  }
  return starts;
}

}  // namespace

Tensor predict_batch(Graph& model, const ModelInfo& info, const Tensor& images) {
  CUSEG_CHECK(images.rank() == 4 && images.dim(3) == info.config.in_channels, "predict: images ", images.shape().str(),
              " for a model of ", info.config.in_channels, " input channels");
  const int64_t n = images.dim(0), H = images.dim(1), W = images.dim(2), C = images.dim(3);
  const int m = network_multiple(info);
  const int64_t h = round_up(H, m), w = round_up(W, m);
  Tensor input = Tensor::zeros(Shape{n, h, w, C});
  for (int64_t i = 0; i < n; ++i) {
    Tensor one = images.view(Shape{H, W, C}, i * H * W * C).clone();
    info.normalization.apply(one);
    paste(one, input.data<float>() + i * h * w * C, w, 0, 0, H, W);
  }
  Tensor probs = forward_probabilities(model, input);
  const int64_t K = probs.dim(3);
  if (h == H && w == W) return probs;
  Tensor out = Tensor::empty(Shape{n, H, W, K});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < H; ++y)
      std::memcpy(out.data<float>() + ((i * H + y) * W) * K, probs.data<float>() + ((i * h + y) * w) * K,
                  size_t(W * K) * sizeof(float));
  return out;
}

Tensor predict_probabilities(Graph& model, const ModelInfo& info, const Tensor& image, const PredictConfig& config) {
  CUSEG_CHECK(image.rank() == 3, "predict: image ", image.shape().str(), " is not [H, W, C]");
  const int64_t H = image.dim(0), W = image.dim(1), C = image.dim(2);
  const int m = network_multiple(info);
  if (config.tile <= 0 || (H <= config.tile && W <= config.tile))
    return predict_batch(model, info, image.view(Shape{1, H, W, C})).view(Shape{H, W, int64_t(info.config.label_classes())});

  const int64_t T = config.tile;
  CUSEG_CHECK(T % m == 0, "predict: tile ", T, " is not a multiple of the network's ", m);
  CUSEG_CHECK(config.overlap >= 0 && config.overlap < T, "predict: overlap ", config.overlap, " must be in [0, tile)");
  CUSEG_CHECK(config.batch >= 1, "predict: batch must be at least 1");
  Tensor normalized = image.clone();
  info.normalization.apply(normalized);
  const int64_t K = info.config.label_classes();
  std::vector<double> sum(size_t(H * W * K), 0.0), weight(size_t(H * W), 0.0);
  struct Tile {
    int64_t y, x, rows, cols;
  };
  std::vector<Tile> tiles;
  for (int64_t y : tile_starts(H, T, T - config.overlap))
    for (int64_t x : tile_starts(W, T, T - config.overlap)) tiles.push_back({y, x, std::min(T, H - y), std::min(T, W - x)});

  for (size_t first = 0; first < tiles.size(); first += size_t(config.batch)) {
    const size_t count = std::min(tiles.size() - first, size_t(config.batch));
    Tensor input = Tensor::zeros(Shape{int64_t(count), T, T, C});
    for (size_t i = 0; i < count; ++i) {
      const Tile& t = tiles[first + i];
      paste(normalized, input.data<float>() + int64_t(i) * T * T * C, T, t.y, t.x, t.rows, t.cols);
    }
    const Tensor probs = forward_probabilities(model, input);
    for (size_t i = 0; i < count; ++i) {
      const Tile& t = tiles[first + i];
      const float* p = probs.data<float>() + int64_t(i) * T * T * K;
      for (int64_t y = 0; y < t.rows; ++y)
        for (int64_t x = 0; x < t.cols; ++x) {
          const double wgt = double(ramp(y, t.rows, config.overlap)) * double(ramp(x, t.cols, config.overlap));
          const int64_t o = (t.y + y) * W + (t.x + x);
          weight[size_t(o)] += wgt;
          for (int64_t k = 0; k < K; ++k) sum[size_t(o * K + k)] += wgt * double(p[(y * T + x) * K + k]);
        }
    }
  }
  Tensor out = Tensor::empty(Shape{H, W, K});
  float* o = out.data<float>();
  for (int64_t i = 0; i < H * W; ++i)
    for (int64_t k = 0; k < K; ++k) o[i * K + k] = float(sum[size_t(i * K + k)] / weight[size_t(i)]);
  return out;
}

Tensor argmax_classes(const Tensor& probabilities) {
  CUSEG_CHECK(probabilities.device().is_cpu() && probabilities.dtype() == DType::F32, "argmax: ",
              probabilities.str(), " is not an f32 host tensor");
  const int r = probabilities.rank();
  const int64_t K = probabilities.dim(r - 1), n = probabilities.numel() / K;
  CUSEG_CHECK(K <= 256, "argmax: ", K, " classes do not fit 8 bits");
  int64_t dims[Shape::kMaxRank];
  for (int i = 0; i < r - 1; ++i) dims[i] = probabilities.dim(i);
  Tensor out = Tensor::empty(Shape(dims, r - 1), DType::U8);
  const float* p = probabilities.data<float>();
  uint8_t* c = out.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) c[i] = uint8_t(std::max_element(p + i * K, p + (i + 1) * K) - (p + i * K));
  return out;
}

Palette class_colours(const ModelInfo& info) {
  if (!info.palette.empty()) return info.palette;
  // Background black, then well-separated hues (the first ones those of common label tools).
  static const Palette base = {{0, 0, 0},     {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
                               {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60},
                               {250, 190, 212}, {0, 128, 128}, {220, 190, 255}, {170, 110, 40}, {255, 250, 200},
                               {128, 0, 0}};
  Palette p;
  for (int k = 0; k < info.config.label_classes(); ++k) {
    if (size_t(k) < base.size()) {
      p.push_back(base[size_t(k)]);
    } else {  // beyond: a deterministic spread
      p.push_back({uint8_t(37 * k % 256), uint8_t(101 * k % 256), uint8_t(173 * k % 256)});
    }
  }
  return p;
}

Tensor colourize(const Tensor& classes, const Palette& colours) {
  const int64_t H = classes.dim(0), W = classes.dim(1);
  Tensor out = Tensor::empty(Shape{H, W, 3}, DType::U8);
  const uint8_t* c = classes.data<uint8_t>();
  uint8_t* o = out.data<uint8_t>();
  for (int64_t i = 0; i < H * W; ++i) {
    static const std::array<uint8_t, 3> none{255, 255, 255};
    const auto& rgb = c[i] < colours.size() ? colours[c[i]] : none;
    for (int k = 0; k < 3; ++k) o[i * 3 + k] = rgb[size_t(k)];
  }
  return out;
}

Tensor overlay(const Tensor& image, const Tensor& classes, const Palette& colours, double alpha) {
  const int64_t H = image.dim(0), W = image.dim(1), C = image.dim(2);
  CUSEG_CHECK(classes.dim(0) == H && classes.dim(1) == W, "overlay: classes ", classes.shape().str(), " for image ",
              image.shape().str());
  const Tensor colour = colourize(classes, colours);
  Tensor out = Tensor::empty(Shape{H, W, 3}, DType::U8);
  const float* x = image.data<float>();
  const uint8_t* col = colour.data<uint8_t>();
  uint8_t* o = out.data<uint8_t>();
  for (int64_t i = 0; i < H * W; ++i) {
    const uint8_t* rgb = col + i * 3;
    const double a = rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0 ? 0.0 : alpha;  // black: no tint (background)
    for (int k = 0; k < 3; ++k) {
      const double v = double(x[i * C + (C >= 3 ? k : 0)]) * 255.0;
      o[i * 3 + k] = uint8_t(std::lround(std::clamp((1 - a) * v + a * double(rgb[k]), 0.0, 255.0)));
    }
  }
  return out;
}

}  // namespace cuseg
