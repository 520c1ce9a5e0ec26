// Runs one of the PyTorch scripts under tests/ on named tensors: the inputs and a JSON spec go
// out as a safetensors file, the script's results come back the same way. The scripts read and
// write safetensors with their own few lines, so every exchange also checks our files against an
// independent reader.
#pragma once

#include <map>
#include <string>

#include "cuseg/core/safetensors.h"
#include "oracle.h"

// Skips (or in CI fails, tests/oracle.h) a test that needs PyTorch where torch_available says no.
#define CUSEG_REQUIRE_TORCH() CUSEG_REQUIRE_ORACLE_IMPL_(::cuseg::test::torch_available(cuseg_oracle_why_))

namespace cuseg::test {

// Whether Debian's /usr/bin/python3 imports torch and numpy; if not, `why` says what is missing.
bool torch_available(std::string& why);

// Runs tests/<script> IN OUT and returns OUT's tensors. Throws with the script's stderr on failure.
SafetensorsFile run_torch_script(const std::string& script, const std::map<std::string, Tensor>& inputs,
                                 const std::string& spec_json);

}  // namespace cuseg::test
