// The outside oracles of the tests (PyPI's tensorboard, onnx, onnxruntime), in the virtual
// environment scripts/deps.sh makes in the checkout (.venv), and Debian's PyTorch
// (torch_runner.h). Without one, the tests that need it are skipped, saying why; in CI (CI=true
// in the environment) they fail instead, so that CI cannot go green without the checks.
#pragma once

#include <gtest/gtest.h>

#include <string>

// A test that needs an oracle starts with CUSEG_REQUIRE_ORACLE("onnx onnxruntime") or
// CUSEG_REQUIRE_TORCH() (torch_runner.h): where it is missing, skipped with the reason, or
// failed where missing_oracle_fails() says so.
#define CUSEG_REQUIRE_ORACLE(modules) \
  CUSEG_REQUIRE_ORACLE_IMPL_(::cuseg::test::oracle_available(modules, cuseg_oracle_why_))
#define CUSEG_REQUIRE_ORACLE_IMPL_(available)                                                 \
  do {                                                                                        \
    std::string cuseg_oracle_why_;                                                            \
    if (!(available)) {                                                                       \
      if (::cuseg::test::missing_oracle_fails())                                              \
        FAIL() << cuseg_oracle_why_ << " (CI=true: a missing oracle fails the test, see tests/oracle.h)"; \
      GTEST_SKIP() << cuseg_oracle_why_;                                                      \
    }                                                                                         \
  } while (0)

namespace cuseg::test {

// Whether a missing oracle fails the tests that need it rather than skipping them: when the
// environment has CI=true (as CI systems set it, and .ci/run does).
bool missing_oracle_fails();

std::string oracle_python();  // <source>/.venv/bin/python
// Whether oracle_python() imports every module of `modules` ("onnx onnxruntime"); if not, `why`.
bool oracle_available(const std::string& modules, std::string& why);
// Runs `oracle_python() <source>/tests/<script_and_args>` and returns its standard output (its
// standard error goes to the test's); throws with that output when it exits non-zero.
std::string run_oracle(const std::string& script_and_args);

}  // namespace cuseg::test
