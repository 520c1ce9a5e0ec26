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
// ... segmentation_models_pytorch and timm over Debian's PyTorch (smp_python()).
#define CUSEG_REQUIRE_SMP() CUSEG_REQUIRE_ORACLE_IMPL_(::cuseg::test::smp_available(cuseg_oracle_why_))

namespace cuseg::test {

// Whether Debian's /usr/bin/python3 imports torch and numpy; if not, `why` says what is missing.
bool torch_available(std::string& why);

// The interpreter of the virtual environment scripts/deps.sh makes over Debian's PyTorch
// (<source>/.venv-torch/bin/python: segmentation_models_pytorch 0.6.0 and timm from PyPI), and
// whether it imports them; if not, `why`.
std::string smp_python();
bool smp_available(std::string& why);

// Runs `python` tests/<script> IN OUT and returns OUT's tensors (python: Debian's /usr/bin/python3
// unless given). Throws with the script's stderr on failure.
SafetensorsFile run_torch_script(const std::string& script, const std::map<std::string, Tensor>& inputs,
                                 const std::string& spec_json, const std::string& python = "");

}  // namespace cuseg::test
