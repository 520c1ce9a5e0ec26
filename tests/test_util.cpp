#include "test_util.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

#include "cuseg/core/philox.h"
#include "verify/registry.h"

namespace cuseg::test {

std::string current_suite() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return test ? test->test_suite_name() : "";
}

bool in_gpu_suite() { return current_suite().ends_with("Gpu"); }

bool small_cases_only() { return std::getenv("CUSEG_TEST_SMALL_CASES_ONLY") != nullptr; }

int64_t max_case_elements() {
  const char* v = std::getenv("CUSEG_TEST_MAX_CASE_ELEMENTS");
  return v && std::atoll(v) > 0 ? int64_t(std::atoll(v)) : std::numeric_limits<int64_t>::max();
}

Tensor random(const Shape& shape, uint64_t seed, double low, double high, DType dtype,
              Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  t.fill_uniform(seed, low, high);
  return t;
}

Tensor random_integers(const Shape& shape, uint64_t seed, int low, int high, DType dtype,
                       Device device) {
  std::vector<double> v = random(shape, seed, 0, 1).to_vector<double>();
  for (double& e : v) e = low + std::floor(e * (high - low + 1));
  return Tensor::from_vector(v, shape).to(dtype).to(device);
}

namespace {

::testing::AssertionResult same_shape(const Tensor& got, const Tensor& ref, const std::string& what) {
  if (got.shape() == ref.shape()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": shape " << got.shape().str() << " vs reference " << ref.shape().str();
}

}  // namespace

::testing::AssertionResult close(const Tensor& got, const Tensor& ref, double tolerance,
                                 const std::string& what, uint64_t seed, NonFinite nonfinite) {
  if (::testing::AssertionResult shapes = same_shape(got, ref, what); !shapes) return shapes;
  const Comparison c = compare(got, ref, 0, 0, nonfinite);
  if (c.ok(tolerance)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " " << got.shape().str() << " seed " << seed << ": rel_l2 " << c.rel_l2
         << ", max_abs " << c.max_abs << " (" << c.max_rel() << " of max|ref| " << c.ref_max_abs
         << "), tolerance " << tolerance << ", " << c.nonfinite << " non-finite element(s); worst "
         << c.worst_where;
}

::testing::AssertionResult close_or_roundoff(const Tensor& got, const Tensor& ref, double tolerance, double floor,
                                             const std::string& what, uint64_t seed) {
  if (::testing::AssertionResult shapes = same_shape(got, ref, what); !shapes) return shapes;
  const Comparison c = compare(got, ref, 0, 0, NonFinite::Fail);
  if (!(c.ref_max_abs <= floor)) return close(got, ref, tolerance, what, seed);
  if (c.nonfinite == 0 && c.max_abs <= floor) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " " << got.shape().str() << " (zero but for roundoff, max|ref| "
                                       << c.ref_max_abs << "): max_abs " << c.max_abs << " beyond " << floor
                                       << ", worst " << c.worst_where;
}

::testing::AssertionResult all_finite(const Tensor& t, const std::string& what) {
  int64_t first = -1;
  const int64_t n = count_nonfinite(t, &first);
  if (n == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " " << t.shape().str() << ": " << n
                                       << " non-finite element(s) (unwritten?), the first at "
                                       << coordinates(t.shape(), first);
}

::testing::AssertionResult all_written(const Tensor& t, const std::string& what) {
  if (is_floating(t.dtype())) return all_finite(t, what);
  const double poison = poisoned(Shape{1}, t.dtype(), Device::cpu()).to(DType::F64).to_vector<double>()[0];
  const std::vector<double> v = t.to(Device::cpu()).to(DType::F64).to_vector<double>();
  const int64_t n = std::count(v.begin(), v.end(), poison);
  if (n == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " " << t.shape().str() << ": " << n << " element(s) still hold the poison " << poison
         << " (unwritten), the first at " << coordinates(t.shape(), std::find(v.begin(), v.end(), poison) - v.begin());
}

::testing::AssertionResult identical(const Tensor& got, const Tensor& ref, const std::string& what,
                                     uint64_t seed, NonFinite nonfinite) {
  if (::testing::AssertionResult shapes = same_shape(got, ref, what); !shapes) return shapes;
  const Comparison c = compare(got, ref, 0, 0, nonfinite);
  if (c.max_abs == 0 && c.nonfinite == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " " << got.shape().str() << " seed " << seed << ": not bit-identical, max_abs "
         << c.max_abs << ", " << c.nonfinite << " non-finite element(s); worst " << c.worst_where;
}

std::vector<int64_t> gradcheck_samples(const Shape& shape, int samples, uint64_t seed) {
  const int64_t n = shape.numel();
  if (n <= samples) {
    std::vector<int64_t> all(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
    return all;
  }
  int64_t k = samples;
  for (int d = 0; d < shape.rank(); ++d) k = std::max(k, shape[d]);
  uint64_t word = 0;
  auto draw = [&](uint64_t below) { return philox_word(seed, word++) % below; };
  // k samples whose coordinates along dimension d are 0, 1, …, shape[d] − 1 repeated, shuffled
  // (Fisher–Yates) independently per dimension, so that the coordinates pair at random.
  std::vector<int64_t> flat(static_cast<size_t>(k), 0);
  int64_t stride = 1;
  for (int d = shape.rank() - 1; d >= 0; --d) {
    std::vector<int64_t> coord(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) coord[size_t(i)] = i % shape[d];
    for (int64_t i = k - 1; i > 0; --i) std::swap(coord[size_t(i)], coord[draw(uint64_t(i + 1))]);
    for (int64_t i = 0; i < k; ++i) flat[size_t(i)] += coord[size_t(i)] * stride;
    stride *= shape[d];
  }
  // Samples that came out alike are topped up with random elements: k distinct ones in all.
  std::set<int64_t> picked(flat.begin(), flat.end());
  while (int64_t(picked.size()) < k) {
    const uint64_t r = uint64_t(philox_word(seed, word)) << 32 | philox_word(seed, word + 1);
    word += 2;
    picked.insert(int64_t(r % uint64_t(n)));
  }
  return {picked.begin(), picked.end()};
}

::testing::AssertionResult gradcheck(const std::function<double(const Tensor&)>& f, const Tensor& x,
                                     const Tensor& analytic, const std::string& what, int samples,
                                     double tolerance, uint64_t seed) {
  if (::testing::AssertionResult shapes = same_shape(analytic, x, what + " analytic gradient"); !shapes)
    return shapes;
  if (::testing::AssertionResult finite = all_finite(analytic, what + " analytic gradient"); !finite)
    return finite;
  Tensor probe = x.clone();
  double* p = probe.data<double>();
  const double* g = analytic.data<double>();
  for (const int64_t i : gradcheck_samples(x.shape(), samples, seed)) {
    const double saved = p[i];
    const double h = 1e-6 * std::max(1.0, std::abs(saved));
    p[i] = saved + h;
    const double up = f(probe);
    p[i] = saved - h;
    const double down = f(probe);
    p[i] = saved;
    const double numeric = (up - down) / (2 * h);
    // Written as "not within" so that a NaN on either side fails.
    if (!(std::abs(numeric - g[i]) <= tolerance * std::max(1.0, std::abs(numeric))))
      return ::testing::AssertionFailure() << what << ": d/dx" << coordinates(x.shape(), i)
                                           << " analytic " << g[i] << " numeric " << numeric
                                           << " (samples " << samples << ", seed " << seed << ")";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult gradcheck_direction(const std::function<double(const Tensor&)>& f,
                                               const Tensor& x, const Tensor& analytic,
                                               const std::string& what, double tolerance,
                                               uint64_t seed) {
  if (::testing::AssertionResult shapes = same_shape(analytic, x, what + " analytic gradient"); !shapes)
    return shapes;
  if (::testing::AssertionResult finite = all_finite(analytic, what + " analytic gradient"); !finite)
    return finite;
  const Tensor v = random(x.shape(), seed);
  double scale = 1;
  for (const double e : x.to_vector<double>()) scale = std::max(scale, std::abs(e));
  // A smaller step than gradcheck's: moving every element at once moves every activation, and a
  // step that carries one of them across a ReLU's or a max's kink is off by that kink's share
  // (seen at 1e-6 in a U-Net's last convolution: 1 % off; within 1e-8 at 1e-7). Rounding costs
  // about 1e-16 · |f| / h, far below the tolerance at 1e-8.
  const double h = 1e-8 * scale;
  Tensor probe = x.clone();
  double* p = probe.data<double>();
  const double* xv = x.data<double>();
  const double* vv = v.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = xv[i] + h * vv[i];
  const double up = f(probe);
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = xv[i] - h * vv[i];
  const double down = f(probe);
  const double numeric = (up - down) / (2 * h), expected = dot(analytic, v);
  // Written as "not within" so that a NaN on either side fails.
  if (!(std::abs(numeric - expected) <= tolerance * std::max(1.0, std::abs(numeric))))
    return ::testing::AssertionFailure() << what << ": along a random direction (seed " << seed
                                         << ") the analytic derivative is " << expected << ", numeric "
                                         << numeric;
  return ::testing::AssertionSuccess();
}

double dot(const Tensor& a, const Tensor& b) {
  const double* pa = a.data<double>();
  const double* pb = b.data<double>();
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += pa[i] * pb[i];
  return s;
}

std::filesystem::path fresh_test_dir(const std::string& prefix) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    str_cat(prefix, "_", ::getpid(), test ? str_cat("_", test->name()) : std::string());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace cuseg::test
