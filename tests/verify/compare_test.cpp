// The comparison the other tests trust: NaN and ±Inf failing unless a test asks for them to be
// matched (and then only by the same value), one bad element in a large tensor caught, unwritten
// (NaN-poisoned) outputs caught on either side, NaN gradients failing gradcheck, and gradcheck's
// sample reaching every index of every dimension.
#include "verify/compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "test_util.h"

namespace cuseg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor vec(std::vector<double> v) { return Tensor::from_vector(v, Shape{int64_t(v.size())}); }

// By default NaN never passes, not even against NaN: two outputs that neither side wrote (both
// still poisoned) are a failure, as are infinities.
TEST(Compare, ANonFiniteElementFailsByDefault) {
  for (const auto& [got, ref] : std::vector<std::pair<double, double>>{{kNaN, kNaN}, {kInf, kInf}, {-kInf, -kInf},
                                                                       {kNaN, 1}, {1, kNaN}, {kInf, 1}, {1, kInf}}) {
    const Comparison c = compare(vec({2, got}), vec({2, ref}));
    EXPECT_FALSE(c.ok(1e300)) << got << " vs reference " << ref;
    EXPECT_EQ(c.nonfinite, 1) << got << " vs reference " << ref;
    EXPECT_EQ(c.mismatches, 1) << got << " vs reference " << ref;
    EXPECT_EQ(c.worst, 1);
  }
  const Tensor unwritten = vec({1, kNaN, 3});
  EXPECT_FALSE(test::close(unwritten, unwritten, 1e-5, "both unwritten", 0));
  EXPECT_FALSE(test::identical(unwritten, unwritten, "both unwritten", 0));
  EXPECT_FALSE(test::identical(vec({kInf}), vec({kInf}), "an infinity", 0));
}

// Asked for, a non-finite reference element is matched only by the same value.
TEST(Compare, MatchSameMatchesANonFiniteReferenceOnlyByTheSameValue) {
  const Tensor special = vec({1, kNaN, kInf, -kInf});
  EXPECT_TRUE(compare(special, special, 0, 0, NonFinite::MatchSame).ok(0));
  EXPECT_TRUE(test::close(special, special, 0, "special values", 0, NonFinite::MatchSame));
  EXPECT_TRUE(test::identical(special, special, "special values", 0, NonFinite::MatchSame));
  // NaN where the reference is finite, a finite value or another infinity where it is not.
  for (const auto& [got, ref] : std::vector<std::pair<double, double>>{
           {kNaN, 1}, {1, kNaN}, {kInf, 1}, {1, kInf}, {-kInf, kInf}, {kNaN, kInf}, {kInf, kNaN}}) {
    const Comparison c = compare(vec({2, got}), vec({2, ref}), 0, 0, NonFinite::MatchSame);
    EXPECT_FALSE(c.ok(1e300)) << got << " vs reference " << ref;
    EXPECT_EQ(c.nonfinite, 1) << got << " vs reference " << ref;
    EXPECT_EQ(c.mismatches, 1) << got << " vs reference " << ref;
    EXPECT_EQ(c.worst, 1);
  }
}

TEST(Compare, AnAllNaNReferenceIsNoMatchForFiniteValues) {
  const Comparison c = compare(vec({1, 2, 3}), vec({kNaN, kNaN, kNaN}));
  EXPECT_FALSE(c.ok(1e300));
  EXPECT_EQ(c.nonfinite, 3);
  EXPECT_FALSE(test::close(vec({1, 2, 3}), vec({kNaN, kNaN, kNaN}), 1e-5, "all-NaN reference", 0));
}

// Where NaN is allowed to match NaN, all_finite is what catches a reference that was never written.
TEST(Compare, AllFiniteCatchesAnUnwrittenReference) {
  const Tensor unwritten = vec({1, kNaN, 3});
  EXPECT_TRUE(test::close(unwritten, unwritten, 1e-5, "both unwritten", 0, NonFinite::MatchSame));
  const ::testing::AssertionResult r = test::all_finite(unwritten, "reference");
  EXPECT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("1 non-finite element(s) (unwritten?), the first at [1]"),
            std::string::npos)
      << r.message();
  EXPECT_TRUE(test::all_finite(vec({1, 2, 3}), "reference"));
  EXPECT_TRUE(test::all_finite(Tensor::full(Shape{3}, 7, DType::I32), "indices"));
}

// Relative L2 alone averages one wrong element away in a large tensor; the element bound
// (max_abs ≤ tolerance · max|ref|) does not.
TEST(Compare, OneBadElementInALargeTensorFails) {
  const Shape s{2, 64, 64, 64};
  const Tensor ref = test::random(s, 1, 1, 2);
  Tensor got = ref.clone();
  got.data<double>()[12345] += 0.01;  // 0.5–1 % of that element, 0.5 % of max|ref|
  const Comparison c = compare(got, ref);
  EXPECT_LT(c.rel_l2, 1e-4);  // what the old rule looked at: it would have passed at 1e-4
  EXPECT_FALSE(c.ok(1e-4));
  EXPECT_NEAR(c.max_abs, 0.01, 1e-12);
  EXPECT_EQ(c.worst, 12345);
  EXPECT_FALSE(test::close(got, ref, 1e-4, "one bad element", 1));
  // Float32 rounding everywhere is well inside both bounds.
  EXPECT_TRUE(test::close(ref.to(DType::F32), ref, 1e-7, "float32 rounding", 1));
}

TEST(Compare, AMismatchIsCountedAgainstAtolAndRtol) {
  const Comparison c = compare(vec({1.05, 2, 0.2}), vec({1, 2, 0}), 0.1, 0.01);
  EXPECT_EQ(c.mismatches, 1);  // 0.2 > 0.1 + 0.01·0; 0.05 ≤ 0.1 + 0.01
  EXPECT_EQ(c.worst, 2);
}

TEST(GradCheck, ANaNGradientFails) {
  const Tensor x = vec({0.5, -1, 2});
  auto f = [](const Tensor& v) { return test::dot(v, v); };
  EXPECT_TRUE(test::gradcheck(f, x, vec({1, -2, 4}), "x·x"));
  EXPECT_FALSE(test::gradcheck(f, x, vec({1, kNaN, 4}), "x·x with a NaN"));
  // A NaN from the finite differences (√ at 0: one side is undefined) fails as well.
  auto root = [](const Tensor& v) { return std::sqrt(v.data<double>()[0]); };
  EXPECT_FALSE(test::gradcheck(root, vec({0}), vec({0}), "sqrt at 0"));
  // A NaN in an element the sample skips fails too.
  const Tensor big = test::random(Shape{1000}, 2);
  Tensor g = big.clone();
  for (int64_t i = 0; i < g.numel(); ++i) g.data<double>()[i] = 2 * big.data<double>()[i];
  EXPECT_TRUE(test::gradcheck(f, big, g, "x·x", 10));
  g.data<double>()[1] = kNaN;
  EXPECT_FALSE(test::gradcheck(f, big, g, "x·x with an unsampled NaN", 10));
}

// Every index of every dimension is among the samples, whatever the shape: a sample taken at a
// fixed stride through an NHWC tensor whose size is a multiple of the channel count sees one
// channel only (as it did, for [2,7,5,3] at 64 samples: stride 3, channel 0).
TEST(GradCheck, TheSampleCoversEveryIndexOfEveryDimension) {
  for (const Shape& s : {Shape{2, 7, 5, 3}, Shape{1, 9, 9, 2}, Shape{4, 3, 3, 4}, Shape{2, 33, 1, 5}, Shape{300},
                         Shape{1, 1, 1, 100}, Shape{3, 200}}) {
    for (const int samples : {1, 10, 64}) {
      const std::vector<int64_t> picked = test::gradcheck_samples(s, samples, 7);
      ASSERT_FALSE(picked.empty());
      EXPECT_TRUE(std::is_sorted(picked.begin(), picked.end()));
      EXPECT_EQ(std::adjacent_find(picked.begin(), picked.end()), picked.end()) << "a repeat";
      EXPECT_GE(int64_t(picked.size()), std::min<int64_t>(samples, s.numel())) << s.str();
      for (int d = 0; d < s.rank(); ++d) {
        std::vector<bool> seen(size_t(s[d]), false);
        for (const int64_t i : picked) {
          ASSERT_GE(i, 0);
          ASSERT_LT(i, s.numel());
          int64_t rest = i;
          for (int e = s.rank() - 1; e > d; --e) rest /= s[e];
          seen[size_t(rest % s[d])] = true;
        }
        EXPECT_EQ(std::count(seen.begin(), seen.end(), false), 0)
            << s.str() << " at " << samples << " samples: an index of dimension " << d << " is never sampled";
      }
    }
  }
  // Small tensors: every element; the same seed, the same sample; another seed, another one.
  EXPECT_EQ(test::gradcheck_samples(Shape{2, 3, 4}, 64, 1).size(), 24u);
  EXPECT_EQ(test::gradcheck_samples(Shape{2, 7, 5, 3}, 64, 1), test::gradcheck_samples(Shape{2, 7, 5, 3}, 64, 1));
  EXPECT_NE(test::gradcheck_samples(Shape{2, 7, 5, 3}, 64, 1), test::gradcheck_samples(Shape{2, 7, 5, 3}, 64, 2));
}

// A gradient wrong in one channel only, of a tensor too large to be checked whole, is found.
TEST(GradCheck, AGradientWrongInOneChannelFails) {
  const Tensor x = test::random(Shape{2, 7, 5, 3}, 3);
  auto f = [](const Tensor& v) { return test::dot(v, v); };
  for (int channel = 0; channel < 3; ++channel) {
    Tensor g = x.clone();
    double* gv = g.data<double>();
    for (int64_t i = 0; i < g.numel(); ++i) gv[i] *= (i % 3 == channel) ? 2.5 : 2;  // 2x is right
    EXPECT_FALSE(test::gradcheck(f, x, g, str_cat("x·x wrong in channel ", channel))) << channel;
  }
}

}  // namespace
}  // namespace cuseg
