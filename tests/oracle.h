// The outside oracles of the tests (PyPI's tensorboard, onnx, onnxruntime), in the virtual
// environment scripts/deps.sh makes in the checkout (.venv). Without it the tests that need them
// are skipped, saying why.
#pragma once

#include <string>

namespace cuseg::test {

std::string oracle_python();  // <source>/.venv/bin/python
// Whether oracle_python() imports every module of `modules` ("onnx onnxruntime"); if not, `why`.
bool oracle_available(const std::string& modules, std::string& why);
// Runs `oracle_python() <source>/tests/<script_and_args>` and returns its standard output (its
// standard error goes to the test's); throws with that output when it exits non-zero.
std::string run_oracle(const std::string& script_and_args);

}  // namespace cuseg::test
