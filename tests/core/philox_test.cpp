#include "cuseg/core/philox.h"

#include <gtest/gtest.h>

#include "cuseg/core/tensor.h"
#include "test_util.h"

namespace cuseg {
namespace {

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, MatchesKnownAnswerVectors) {
  Philox4x32 zero = philox4x32_10(0, 0, 0, 0, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);

  Philox4x32 ones = philox4x32_10(~0u, ~0u, ~0u, ~0u, ~0u, ~0u);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);

  Philox4x32 pi =
      philox4x32_10(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, WordsComeFromTheirBlockAndLane) {
  const Philox4x32 block5 = philox4x32_10(5, 0, 0, 0, 0x1234u, 0x5678u);
  const uint64_t seed = 0x0000567800001234ull;
  for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(philox_word(seed, 5 * 4 + lane), block5.v[lane]);
}

TEST(Philox, UniformIsInTheUnitIntervalWithTwentyFourBits) {
  for (uint64_t i = 0; i < 4096; ++i) {
    const double u = philox_uniform01(42, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ASSERT_EQ(u * 16777216.0, double(uint64_t(u * 16777216.0)));
  }
}

TEST(PhiloxGpu, DeviceStreamEqualsHostStream) {
  CUSEG_REQUIRE_GPU();
  // The raw stream: i32 draws over [0, 2^31) keep 24 random bits of every word.
  Tensor host = test::random(Shape{1 << 16}, 2024, 0, 2147483648.0, DType::F64);
  Tensor dev = test::random(Shape{1 << 16}, 2024, 0, 2147483648.0, DType::F64, Device::cuda(0));
  EXPECT_TRUE(test::identical(dev, host, "philox stream", 2024));
}

}  // namespace
}  // namespace cuseg
