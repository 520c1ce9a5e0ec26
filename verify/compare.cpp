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

Comparison compare(const Tensor& got, const Tensor& ref, double atol, double rtol) {
  CUSEG_CHECK(got.shape() == ref.shape(), "compare: ", got.str(), " vs ", ref.str());
  const std::vector<double> g = got.to(Device::cpu()).to(DType::f64).to_vector<double>();
  const std::vector<double> r = ref.to(Device::cpu()).to(DType::f64).to_vector<double>();
  Comparison c;
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double d = std::abs(g[i] - r[i]);
    if (!std::isfinite(g[i]) && std::isfinite(r[i])) {
      ++c.nonfinite;
      if (c.worst < 0 || std::isfinite(c.max_abs)) {
        c.max_abs = std::numeric_limits<double>::infinity();
        c.worst = int64_t(i);
      }
      continue;
    }
    if (!std::isfinite(r[i])) continue;  // a non-finite reference is compared by the caller
    diff2 += d * d;
    ref2 += r[i] * r[i];
    if (d > atol + rtol * std::abs(r[i])) ++c.mismatches;
    if (c.worst < 0 || d > c.max_abs) {
      c.max_abs = d;
      c.worst = int64_t(i);
    }
  }
  c.rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  if (c.nonfinite) c.rel_l2 = std::numeric_limits<double>::infinity();
  if (c.worst >= 0)
    c.worst_where = str_cat(coordinates(got.shape(), c.worst), " got ", g[size_t(c.worst)], " ref ",
                            r[size_t(c.worst)]);
  return c;
}

}  // namespace cuseg
