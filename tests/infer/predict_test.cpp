// Whole-image inference: padding to the network's multiple and cropping back gives what the
// network computes on the padded image; tiles with overlap blend to nearly the whole-image
// result, much closer than tiles without overlap; argmax, colours and overlays.
#include "cuseg/infer/predict.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cuseg/kernels/softmax.h"
#include "cuseg/layers/unet.h"
#include "test_util.h"

namespace cuseg {
namespace {

struct Net {
  ModelInfo info;
  std::unique_ptr<Graph> graph;
};

Net small_net() {
  Net n;
  n.info.config = ModelConfig::unet_s(3, 3, 4);
  n.info.config.depth = 3;
  n.info.config.seed = 4;
  n.info.class_names = {"a", "b", "c"};
  n.info.normalization.mean = {0.5, 0.5, 0.5};
  n.info.normalization.std = {0.25, 0.25, 0.25};
  n.graph = build_unet(n.info.config);
  n.graph->set_training(false);
  return n;
}

Tensor image(int64_t h, int64_t w, uint64_t seed) {
  return test::random(Shape{h, w, 3}, seed, 0, 1, DType::F32);
}

TEST(Predict, PadsToTheNetworksMultipleAndCropsBack) {
  Net n = small_net();
  const Tensor x = image(13, 10, 1);  // the network needs multiples of 4
  const Tensor probs = predict_probabilities(*n.graph, n.info, x, {});
  ASSERT_EQ(probs.shape(), (Shape{13, 10, 3}));
  // By hand: normalize, pad with zeros to 16×12, run, softmax, crop.
  Tensor padded = Tensor::zeros(Shape{1, 16, 12, 3});
  const std::vector<float> xv = x.to_vector<float>();
  for (int y = 0; y < 13; ++y)
    for (int c = 0; c < 10 * 3; ++c)
      padded.data<float>()[y * 12 * 3 + c] = (xv[size_t(y * 30 + c)] - 0.5f) / 0.25f;
  n.graph->forward({{"image", padded}});
  Tensor ref = Tensor::empty(Shape{1, 16, 12, 3});
  softmax_forward(n.graph->get("logits"), ref);
  const std::vector<float> got = probs.to_vector<float>(), want = ref.to_vector<float>();
  double worst = 0;
  for (int y = 0; y < 13; ++y)
    for (int c = 0; c < 30; ++c) worst = std::max(worst, std::abs(double(got[size_t(y * 30 + c)]) - want[size_t(y * 36 + c)]));
  EXPECT_LT(worst, 1e-6);
  for (size_t p = 0; p < got.size(); p += 3) EXPECT_NEAR(got[p] + got[p + 1] + got[p + 2], 1.0, 1e-5);
}

TEST(Predict, OverlappingTilesBlendCloseToTheWholeImage) {
  Net n = small_net();
  const Tensor x = image(40, 52, 2);
  const std::vector<float> whole = predict_probabilities(*n.graph, n.info, x, {}).to_vector<float>();
  auto error = [&](int overlap) {
    PredictConfig pc;
    pc.tile = 16;
    pc.overlap = overlap;
    pc.batch = 3;
    const std::vector<float> tiled = predict_probabilities(*n.graph, n.info, x, pc).to_vector<float>();
    double sum = 0;
    for (size_t i = 0; i < whole.size(); ++i) sum += std::abs(double(tiled[i]) - whole[i]);
    return sum / double(whole.size());
  };
  const double seams = error(0), blended = error(8);
  EXPECT_GT(seams, 0);  // tiles see zeros beyond their edges: without overlap, seams show
  EXPECT_LT(blended, 0.5 * seams) << "no overlap " << seams << ", overlap 8 " << blended;
  // A tile as large as the image is the whole image.
  PredictConfig one;
  one.tile = 64;
  const std::vector<float> single = predict_probabilities(*n.graph, n.info, x, one).to_vector<float>();
  EXPECT_EQ(single, whole);
}

// Tied probabilities: the first (lowest) class wins, as in the confusion matrix's arg-max.
TEST(Predict, ArgmaxTiesGoToTheFirstClass) {
  const Tensor probs = Tensor::from_vector<float>({0.5f, 0.5f, 0.0f,     // 0
                                                   0.2f, 0.4f, 0.4f,     // 1
                                                   0.3f, 0.3f, 0.3f,     // 0
                                                   0.25f, 0.25f, 0.5f},  // 2
                                                  Shape{2, 2, 3});
  EXPECT_EQ(argmax_classes(probs).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 0, 2}));
}

TEST(Predict, ArgmaxColoursAndOverlay) {
  const Tensor probs = Tensor::from_vector<float>({0.1f, 0.7f, 0.2f, 0.5f, 0.2f, 0.3f}, Shape{1, 2, 3});
  const Tensor classes = argmax_classes(probs);
  EXPECT_EQ(classes.to_vector<uint8_t>(), (std::vector<uint8_t>{1, 0}));
  ModelInfo info;
  info.config.classes = 3;
  const Palette colours = class_colours(info);
  ASSERT_EQ(colours.size(), 3u);
  EXPECT_EQ(colours[0], (std::array<uint8_t, 3>{0, 0, 0}));
  const Tensor img = Tensor::full(Shape{1, 2, 3}, 1.0);  // white
  const std::vector<uint8_t> o = overlay(img, classes, colours, 0.5).to_vector<uint8_t>();
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(o[size_t(k)], uint8_t(std::lround(0.5 * 255 + 0.5 * colours[1][size_t(k)])));
    EXPECT_EQ(o[size_t(3 + k)], 255);  // background: untinted
  }
}

}  // namespace
}  // namespace cuseg
