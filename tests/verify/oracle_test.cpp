// A missing oracle (PyTorch, onnx, onnxruntime, tensorboard) skips the tests that need it on a
// developer's machine, and fails them in CI (CI=true), so that CI cannot go green without them.
#include "oracle.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "torch_runner.h"

namespace cuseg {
namespace {

// Sets CI for one scope and puts back what was there.
class ScopedCi {
 public:
  explicit ScopedCi(const char* value) {
    if (const char* old = std::getenv("CI")) old_ = old;
    if (value)
      ::setenv("CI", value, 1);
    else
      ::unsetenv("CI");
  }
  ~ScopedCi() {
    if (old_)
      ::setenv("CI", old_->c_str(), 1);
    else
      ::unsetenv("CI");
  }

 private:
  std::optional<std::string> old_;
};

TEST(Oracles, AMissingOracleFailsOnlyWhereCiIsTrue) {
  {
    ScopedCi ci("true");
    EXPECT_TRUE(test::missing_oracle_fails());
  }
  for (const char* value : {static_cast<const char*>(nullptr), "", "false", "1", "TRUE"}) {
    ScopedCi ci(value);
    EXPECT_FALSE(test::missing_oracle_fails()) << "CI=" << (value ? value : "(unset)");
  }
}

void require_a_module_that_does_not_exist() {
  ScopedCi ci("true");
  CUSEG_REQUIRE_ORACLE("cuseg_no_such_module");
}

// In CI the check fails the test (with why: no .venv, or the module it cannot import); run here
// inside EXPECT_FATAL_FAILURE, which expects exactly that failure.
TEST(Oracles, InCiAMissingModuleIsAFailure) {
  EXPECT_FATAL_FAILURE(require_a_module_that_does_not_exist(),
                       "CI=true: a missing oracle fails the test");
}

}  // namespace
}  // namespace cuseg
