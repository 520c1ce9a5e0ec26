// The synthetic dataset: deterministic per sample whatever the batch, every class present,
// values in [0, 1], classes separable by colour (what a network learns from).
#include "cuseg/data/synthetic.h"

#include <gtest/gtest.h>

#include <array>

#include "test_util.h"

namespace cuseg {
namespace {

TEST(Synthetic, SamplesAreDeterministicWhateverTheBatch) {
  SyntheticConfig c;
  c.seed = 7;
  Tensor a_img, a_lab, b_img, b_lab;
  synthetic_batch(c, 3, 5, a_img, a_lab);  // samples 3…7
  synthetic_batch(c, 5, 1, b_img, b_lab);  // sample 5 alone
  EXPECT_TRUE(test::identical(b_img, a_img.view(Shape{1, 64, 64, 3}, 2 * 64 * 64 * 3), "sample 5 image", 7));
  EXPECT_TRUE(test::identical(b_lab, a_lab.view(Shape{1, 64, 64}, 2 * 64 * 64), "sample 5 labels", 7));
  c.seed = 8;
  synthetic_batch(c, 5, 1, b_img, b_lab);
  EXPECT_GT(compare(b_img, a_img.view(Shape{1, 64, 64, 3}, 2 * 64 * 64 * 3)).max_abs, 0.1);
}

// Label noise relabels some shapes as another shape class — only shapes, never the background,
// at about the share asked for — and leaves the images as they were; the validation split of the
// built-in data stays true.
TEST(Synthetic, LabelNoiseRelabelsShapesAndLeavesTheImages) {
  SyntheticConfig c;
  c.seed = 3;
  Tensor img, lab, noisy_img, noisy_lab;
  synthetic_batch(c, 0, 64, img, lab);
  c.label_noise = 0.3;
  synthetic_batch(c, 0, 64, noisy_img, noisy_lab);
  EXPECT_TRUE(test::identical(noisy_img, img, "images", 0));
  const std::vector<uint8_t> a = lab.to_vector<uint8_t>(), b = noisy_lab.to_vector<uint8_t>();
  int64_t shape_pixels = 0, changed = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i] == 0, b[i] == 0) << "the background is never relabelled, nor a shape made background";
    ASSERT_LE(b[i], 3) << "a shape class";
    shape_pixels += a[i] != 0;
    changed += a[i] != b[i];
  }
  EXPECT_GT(double(changed) / double(shape_pixels), 0.15);
  EXPECT_LT(double(changed) / double(shape_pixels), 0.45);
  // The built-in validation split ignores it.
  const auto val = synthetic_split(c, 4, 4, "val");
  c.label_noise = 0;
  const auto clean = synthetic_split(c, 4, 4, "val");
  for (size_t i = 0; i < 4; ++i)
    EXPECT_TRUE(test::identical(val->load(i)->labels, clean->load(i)->labels, "val labels", 0));
}

TEST(Synthetic, EveryClassAppearsAndColoursSeparateThem) {
  SyntheticConfig c;
  c.seed = 1;
  Tensor img, lab;
  synthetic_batch(c, 0, 32, img, lab);
  const std::vector<float> v = img.to_vector<float>();
  const std::vector<uint8_t> l = lab.to_vector<uint8_t>();
  std::array<double, 4> count{}, red{};
  for (size_t p = 0; p < l.size(); ++p) {
    ASSERT_LT(l[p], 4);
    count[l[p]] += 1;
    red[l[p]] += v[p * 3];
    for (int ch = 0; ch < 3; ++ch) {
      ASSERT_GE(v[p * 3 + size_t(ch)], 0.f);
      ASSERT_LE(v[p * 3 + size_t(ch)], 1.f);
    }
  }
  for (int k = 0; k < 4; ++k) EXPECT_GT(count[size_t(k)], 0.01 * double(l.size())) << synthetic_class_names()[size_t(k)];
  // Circles are red: their mean red channel stands well above the other classes'.
  for (int k : {0, 2, 3}) EXPECT_GT(red[1] / count[1], red[size_t(k)] / count[size_t(k)] + 0.2);
}

}  // namespace
}  // namespace cuseg
