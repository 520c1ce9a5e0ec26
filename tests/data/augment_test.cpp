// Augmentation: the identity configuration changes nothing; under random scale, crop, flips and
// rotations image and mask stay aligned; the same (seed, draw) gives the same result; flips and
// rotations only move pixels.
#include "cuseg/data/augment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "test_util.h"

namespace cuseg {
namespace {

// A 40×40 sample of four constant quadrants: label q, image (q/4, 1 − q/4, 0.5).
void quadrants(Tensor& image, Tensor& labels) {
  const int n = 40;
  std::vector<float> img(size_t(n * n * 3));
  std::vector<uint8_t> lab(size_t(n * n));
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const int q = (y >= n / 2) * 2 + (x >= n / 2);
      lab[size_t(y * n + x)] = uint8_t(q);
      img[size_t((y * n + x) * 3)] = q / 4.f;
      img[size_t((y * n + x) * 3 + 1)] = 1 - q / 4.f;
      img[size_t((y * n + x) * 3 + 2)] = 0.5f;
    }
  image = Tensor::from_vector(img, Shape{n, n, 3});
  labels = Tensor::from_vector(lab, Shape{n, n});
}

TEST(Augment, IdentityConfigurationChangesNothing) {
  Tensor image, labels, out_image, out_labels;
  quadrants(image, labels);
  const AugmentConfig identity{40, 40, false, false, 1.0, 1.0, 0.0, 0.0, 255};
  augment(image, labels, identity, 1, 2, out_image, out_labels);
  EXPECT_TRUE(test::identical(out_image, image, "identity image", 1));
  EXPECT_TRUE(test::identical(out_labels, labels, "identity labels", 1));
}

TEST(Augment, KeepsImageAndMaskAlignedAndIsDeterministic) {
  Tensor image, labels;
  quadrants(image, labels);
  const AugmentConfig c{32, 32, true, true, 0.6, 1.6, 0.0, 0.0, 255};
  for (uint64_t draw = 0; draw < 20; ++draw) {
    Tensor img, lab;
    augment(image, labels, c, 7, draw, img, lab);
    const std::vector<float> v = img.to_vector<float>();
    const std::vector<uint8_t> l = lab.to_vector<uint8_t>();
    // Away from quadrant borders (a uniform 3×3 label neighbourhood), the image is its label's colour.
    for (int y = 1; y < 31; ++y)
      for (int x = 1; x < 31; ++x) {
        const uint8_t q = l[size_t(y * 32 + x)];
        bool uniform = true;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) uniform &= l[size_t((y + dy) * 32 + x + dx)] == q;
        if (!uniform || q == 255) continue;
        ASSERT_NEAR(v[size_t((y * 32 + x) * 3)], q / 4.f, 1e-5) << "draw " << draw << " at " << y << "," << x;
      }
    Tensor again_img, again_lab;
    augment(image, labels, c, 7, draw, again_img, again_lab);
    ASSERT_TRUE(test::identical(again_img, img, "same draw", draw));
  }
  Tensor a, la, b, lb;
  augment(image, labels, c, 7, 1, a, la);
  augment(image, labels, c, 7, 2, b, lb);
  EXPECT_GT(compare(a, b).max_abs, 0.1);
}

TEST(Augment, FlipsAndRotationsOnlyMovePixels) {
  Tensor image, labels;
  quadrants(image, labels);
  const std::vector<uint8_t> l = labels.to_vector<uint8_t>();
  const AugmentConfig c{40, 40, true, true, 1.0, 1.0, 0.0, 0.0, 255};
  for (uint64_t draw = 0; draw < 8; ++draw) {
    Tensor img, lab;
    augment(image, labels, c, 3, draw, img, lab);
    std::vector<uint8_t> got = lab.to_vector<uint8_t>(), want = l;
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
  }
}

TEST(Augment, ResizeSampleHalvesConstantBlocks) {
  Tensor image, labels, out_image, out_labels;
  quadrants(image, labels);
  resize_sample(image, labels, 20, 20, out_image, out_labels);
  EXPECT_EQ(out_labels.to_vector<uint8_t>()[0], 0);
  EXPECT_EQ(out_labels.to_vector<uint8_t>()[19 * 20 + 19], 3);
  EXPECT_FLOAT_EQ(out_image.to_vector<float>()[(19 * 20 + 19) * 3], 0.75f);
}

}  // namespace
}  // namespace cuseg
