#include "test_util.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>

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

::testing::AssertionResult close(const Tensor& got, const Tensor& ref, double tolerance,
                                 const std::string& what, uint64_t seed) {
  if (!(got.shape() == ref.shape()))
    return ::testing::AssertionFailure()
           << what << ": shape " << got.shape().str() << " vs reference " << ref.shape().str();
  const Comparison c = compare(got, ref);
  if (c.ok(tolerance)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " " << got.shape().str() << " seed " << seed << ": rel_l2 " << c.rel_l2
         << ", max_abs " << c.max_abs << " (" << c.max_rel() << " of max|ref| " << c.ref_max_abs
         << "), tolerance " << tolerance << ", " << c.nonfinite << " non-finite mismatch(es); worst "
         << c.worst_where;
}

::testing::AssertionResult all_finite(const Tensor& t, const std::string& what) {
  int64_t first = -1;
  const int64_t n = count_nonfinite(t, &first);
  if (n == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " " << t.shape().str() << ": " << n
                                       << " non-finite element(s) (unwritten?), the first at "
                                       << coordinates(t.shape(), first);
}

::testing::AssertionResult identical(const Tensor& got, const Tensor& ref, const std::string& what,
                                     uint64_t seed) {
  const Comparison c = compare(got, ref);
  if (c.max_abs == 0 && c.nonfinite == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " " << got.shape().str() << " seed " << seed << ": not bit-identical, max_abs "
         << c.max_abs << " at " << c.worst_where;
}

::testing::AssertionResult gradcheck(const std::function<double(const Tensor&)>& f, const Tensor& x,
                                     const Tensor& analytic, const std::string& what, int samples,
                                     double tolerance) {
  if (::testing::AssertionResult finite = all_finite(analytic, what + " analytic gradient"); !finite)
    return finite;
  const int64_t n = x.numel();
  const int64_t stride = n <= samples ? 1 : n / samples;
  Tensor probe = x.clone();
  double* p = probe.data<double>();
  const double* g = analytic.data<double>();
  for (int64_t i = 0; i < n; i += stride) {
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
                                           << " analytic " << g[i] << " numeric " << numeric;
  }
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
