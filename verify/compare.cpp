#include "verify/compare.h"

#include <cmath>
#include <limits>

namespace cuseg {

std::string coordinates(const Shape& shape, int64_t index) {
  int64_t coord[Shape::kMaxRank] = {};
  for (int i = shape.rank() - 1; i >= 0; --i) {
    coord[i] = index % shape[i];
    index /= shape[i];
  }
  std::string s = "[";
  for (int i = 0; i < shape.rank(); ++i) {
    if (i) s += ',';
    s += std::to_string(coord[i]);
  }
  s += ']';
  return s;
}

namespace {

std::vector<double> host_f64(const Tensor& t) { return t.to(Device::cpu()).to(DType::F64).to_vector<double>(); }

// The same non-finite value: NaN matches NaN (any payload), an infinity the same infinity.
bool same_nonfinite(double got, double ref) {
  return std::isnan(ref) ? std::isnan(got) : got == ref;
}

}  // namespace

Comparison compare(const Tensor& got, const Tensor& ref, double atol, double rtol, NonFinite nonfinite) {
  CUSEG_CHECK(got.shape() == ref.shape(), "compare: ", got.str(), " vs ", ref.str());
  const std::vector<double> g = host_f64(got), r = host_f64(ref);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Comparison c;
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (!std::isfinite(g[i]) || !std::isfinite(r[i])) {
      if (nonfinite == NonFinite::Fail || !same_nonfinite(g[i], r[i])) {
        ++c.nonfinite;
        ++c.mismatches;
        if (c.max_abs < kInf) {  // the first non-finite mismatch is the worst element
          c.max_abs = kInf;
          c.worst = int64_t(i);
        }
      }
      continue;
    }
    const double d = std::abs(g[i] - r[i]);
    diff2 += d * d;
    ref2 += r[i] * r[i];
    c.ref_max_abs = std::max(c.ref_max_abs, std::abs(r[i]));
    if (d > atol + rtol * std::abs(r[i])) ++c.mismatches;
    if (c.worst < 0 || d > c.max_abs) {
      c.max_abs = d;
      c.worst = int64_t(i);
    }
  }
  c.rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  if (c.nonfinite) c.rel_l2 = kInf;
  if (c.worst >= 0)
    c.worst_where = str_cat(coordinates(got.shape(), c.worst), " got ", g[size_t(c.worst)], " ref ",
                            r[size_t(c.worst)]);
  return c;
}

int64_t count_nonfinite(const Tensor& t, int64_t* first) {
  if (first) *first = -1;
  if (!is_floating(t.dtype())) return 0;
  const std::vector<double> v = host_f64(t);
  int64_t n = 0;
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) {
      if (first && n == 0) *first = int64_t(i);
      ++n;
    }
  return n;
}

}  // namespace cuseg
