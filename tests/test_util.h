// Shared test helpers: skipping GPU tests with the reason, comparisons whose failure message
// names the op, the shape, the seed and the worst element, random tensors from a printed seed,
// and a finite-difference gradient check in double.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cuseg/core/device.h"
#include "cuseg/core/tensor.h"
#include "verify/compare.h"

// GPU tests call this first: without a usable device they are reported as skipped, with why.
// A GPU test must be in a test suite whose name ends in "Gpu" (ctest labels by suite, see
// tests/CMakeLists.txt); one that is not fails here, GPU or not.
#define CUSEG_REQUIRE_GPU()                                                                    \
  do {                                                                                         \
    ASSERT_TRUE(::cuseg::test::in_gpu_suite())                                                 \
        << "a GPU test in suite " << ::cuseg::test::current_suite()                            \
        << ", whose name does not end in \"Gpu\": ctest would label it cpu";                   \
    if (!::cuseg::cuda_available()) GTEST_SKIP() << "no GPU: " << ::cuseg::cuda_status();      \
  } while (0)

namespace cuseg {
// Readable shapes in GoogleTest's messages.
inline void PrintTo(const Shape& s, std::ostream* os) { *os << s.str(); }
}  // namespace cuseg

namespace cuseg::test {

// The running test's suite ("Ops/EveryOpGpu" for a parameterized one), and whether it ends in
// "Gpu", the mark of a GPU test.
std::string current_suite();
bool in_gpu_suite();

// The sanitizer stages set CUSEG_TEST_SMALL_CASES_ONLY: a test then leaves out its U-Net-sized
// cases, which the plain emulated stage runs and which under ASan or TSan would take most of
// CI's time.
bool small_cases_only();
// The stage under ThreadSanitizer caps the registry's cases too (CUSEG_TEST_MAX_CASE_ELEMENTS,
// elements summed over a case's inputs): each emulated thread there is an OS thread.
int64_t max_case_elements();

// Uniform in [low, high) from Philox `seed`, f64 on the CPU unless told otherwise.
Tensor random(const Shape& shape, uint64_t seed, double low = -1, double high = 1,
              DType dtype = DType::F64, Device device = Device::cpu());

// Small integers in [low, high]: convolution and pooling on them are exact in float32.
Tensor random_integers(const Shape& shape, uint64_t seed, int low, int high,
                       DType dtype = DType::F32, Device device = Device::cpu());

// Succeeds when got matches ref as Comparison::ok(tolerance) says: relative L2 error and the
// worst element's error (relative to max|ref|) both within `tolerance`; the message names what,
// the shape, the seed and the worst element. A NaN or ±Inf on either side fails (outputs are
// poisoned with NaN, so an element that neither side wrote fails too), unless the test asks for
// NonFinite::MatchSame because its reference holds non-finite values on purpose.
::testing::AssertionResult close(const Tensor& got, const Tensor& ref, double tolerance,
                                 const std::string& what, uint64_t seed,
                                 NonFinite nonfinite = NonFinite::Fail);
// close(), except where ref is zero but for roundoff — no element beyond `floor` in magnitude —
// as for a quantity zero in exact arithmetic (a batch norm's shift whose output reaches the loss
// only through another train-mode batch norm; the running mean of a zero-mean input): there
// every element of got must be within `floor` of ref's, as relative error means nothing.
::testing::AssertionResult close_or_roundoff(const Tensor& got, const Tensor& ref, double tolerance, double floor,
                                             const std::string& what, uint64_t seed);
// Succeeds when no element of t is NaN or ±Inf: an output poisoned before the call and meant to
// be finite was written everywhere.
::testing::AssertionResult all_finite(const Tensor& t, const std::string& what);
// Succeeds when no element of t still holds what verify/registry.h's poisoned() fills outputs
// with: for floating tensors no NaN or ±Inf (as all_finite), for integer ones not the integer
// poison (a negative index in i32, 255 in u8). For outputs that both sides of a comparison
// poisoned and that may be integers, which compare equal when neither side wrote them.
::testing::AssertionResult all_written(const Tensor& t, const std::string& what);
// Bit-for-bit equality; a NaN or ±Inf on either side fails as in close().
::testing::AssertionResult identical(const Tensor& got, const Tensor& ref, const std::string& what,
                                     uint64_t seed, NonFinite nonfinite = NonFinite::Fail);

// The flat indices of a tensor of `shape` that gradcheck perturbs: all of them when there are at
// most `samples`; else a random subset drawn from `seed`, of max(samples, largest dimension)
// elements, in which every index of every dimension appears: every image, row, column and
// channel is sampled, whatever the strides (a fixed stride through an NHWC tensor can land on
// one channel only). Sorted, without repeats.
std::vector<int64_t> gradcheck_samples(const Shape& shape, int samples, uint64_t seed);

// Central differences of the scalar function f at x (f64, CPU) against `analytic` (df/dx), at
// the elements gradcheck_samples(x.shape(), samples, seed) picks; every element of `analytic`
// must be finite, sampled or not, and a NaN on either side fails.
::testing::AssertionResult gradcheck(const std::function<double(const Tensor&)>& f, const Tensor& x,
                                     const Tensor& analytic, const std::string& what,
                                     int samples = 64, double tolerance = 1e-6, uint64_t seed = 1);

// Central differences of f at x along one random direction v (from `seed`, every element of x
// moved) against ⟨analytic, v⟩: one check in which every element's gradient takes part, for
// whole networks, where a check per element costs two forward passes of the network each. It
// finds wrong wiring, not one slightly wrong element: that is what gradcheck on each layer does.
::testing::AssertionResult gradcheck_direction(const std::function<double(const Tensor&)>& f,
                                               const Tensor& x, const Tensor& analytic,
                                               const std::string& what, double tolerance = 1e-6,
                                               uint64_t seed = 1);

// An empty scratch folder in the system's temporary folder, named after `prefix`, this process and
// the running test (so parallel test processes never share one).
std::filesystem::path fresh_test_dir(const std::string& prefix);

// A whole file's bytes (empty if it cannot be read), and a file written with exactly these bytes.
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);

// Σ a ⊙ b over all elements (f64 tensors): projects an output onto a random direction, so a
// gradient check of one scalar covers every output element.
double dot(const Tensor& a, const Tensor& b);

}  // namespace cuseg::test
