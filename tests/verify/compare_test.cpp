// The comparison the other tests trust: non-finite references matched exactly, one bad element
// in a large tensor caught, unwritten (NaN-poisoned) references caught by all_finite, and NaN
// gradients failing gradcheck.
#include "verify/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_util.h"

namespace cuseg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor vec(std::vector<double> v) { return Tensor::from_vector(v, Shape{int64_t(v.size())}); }

TEST(Compare, ANonFiniteReferenceIsMatchedOnlyByTheSameValue) {
  EXPECT_TRUE(compare(vec({1, kNaN, kInf, -kInf}), vec({1, kNaN, kInf, -kInf})).ok(0));
  // NaN where the reference is finite, a finite value or another infinity where it is not.
  for (const auto& [got, ref] : std::vector<std::pair<double, double>>{
           {kNaN, 1}, {1, kNaN}, {kInf, 1}, {1, kInf}, {-kInf, kInf}, {kNaN, kInf}, {kInf, kNaN}}) {
    const Comparison c = compare(vec({2, got}), vec({2, ref}));
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

// NaN matches NaN, so an output that neither side wrote compares equal: all_finite is what
// catches the reference that was never written.
TEST(Compare, AllFiniteCatchesAnUnwrittenReference) {
  const Tensor unwritten = vec({1, kNaN, 3});
  EXPECT_TRUE(test::close(unwritten, unwritten, 1e-5, "both unwritten", 0));
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

}  // namespace
}  // namespace cuseg
