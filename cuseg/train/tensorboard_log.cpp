#include "cuseg/train/tensorboard_log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "cuseg/core/error.h"
#include "cuseg/data/image_io.h"
#include "cuseg/infer/predict.h"

namespace cuseg {

using json = nlohmann::json;

void TensorBoardLog::step_loss(int64_t step, double loss) { file_.scalars(step, {{"step/loss", loss}}); }

void TensorBoardLog::epoch(int64_t step, const json& line) {
  std::vector<EventFile::Scalar> values;
  for (const auto& [key, v] : line.items()) {
    if (v.is_number()) {
      values.push_back({"epoch/" + key, v.get<double>()});
    } else if (v.is_object()) {
      for (const auto& [name, x] : v.items())
        if (x.is_number()) values.push_back({"epoch/" + key + "/" + name, x.get<double>()});
    }
  }
  file_.scalars(step, values);
}

void TensorBoardLog::val_images(int64_t step, const Tensor& images, const Tensor& truth, const Tensor& predicted,
                                const std::vector<std::string>& names, const Palette& colours) {
  const int64_t N = images.dim(0), H = images.dim(1), W = images.dim(2), C = images.dim(3);
  CUSEG_CHECK(truth.shape() == (Shape{N, H, W}) && predicted.shape() == (Shape{N, H, W}) && names.size() >= size_t(N),
              "TensorBoard images: ", images.str(), " with masks ", truth.str(), " and ", predicted.str());
  constexpr int64_t gap = 2;  // white columns between the three panels
  const int64_t WW = 3 * W + 2 * gap;
  const float* x = images.data<float>();
  for (int64_t n = 0; n < std::min<int64_t>(N, kImages); ++n) {
    Tensor panel = Tensor::empty(Shape{H, WW, 3}, DType::U8);
    uint8_t* o = panel.data<uint8_t>();
    std::fill(o, o + H * WW * 3, uint8_t(255));
    const Tensor t = colourize(truth.view(Shape{H, W}, n * H * W), colours);
    const Tensor p = colourize(predicted.view(Shape{H, W}, n * H * W), colours);
    const uint8_t *tc = t.data<uint8_t>(), *pc = p.data<uint8_t>();
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        const float* px = x + ((n * H + i) * W + j) * C;
        for (int64_t k = 0; k < 3; ++k) {  // gray repeated into RGB; alpha left out
          const float v = px[C >= 3 ? k : 0];
          o[(i * WW + j) * 3 + k] = uint8_t(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
          o[(i * WW + W + gap + j) * 3 + k] = tc[(i * W + j) * 3 + k];
          o[(i * WW + 2 * (W + gap) + j) * 3 + k] = pc[(i * W + j) * 3 + k];
        }
      }
    const std::string& name = names[size_t(n)];
    file_.image(step, "val/" + (name.empty() ? str_cat("image", n) : name), int(H), int(WW), 3, encode_png(panel));
  }
}

}  // namespace cuseg
