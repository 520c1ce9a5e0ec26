#include "torch_runner.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cuseg::test {

namespace fs = std::filesystem;

namespace {
constexpr const char* kPython = "/usr/bin/python3";
}

bool torch_available(std::string& why) {
  if (!fs::exists(kPython)) {
    why = std::string(kPython) + " does not exist";
    return false;
  }
  if (std::system((std::string(kPython) + " -c 'import torch, numpy' > /dev/null 2>&1").c_str()) != 0) {
    why = std::string(kPython) + " cannot import torch and numpy (scripts/deps.sh installs python3-torch)";
    return false;
  }
  return true;
}

std::string smp_python() { return std::string(CUSEG_SOURCE_DIR) + "/.venv-torch/bin/python"; }

bool smp_available(std::string& why) {
  if (!fs::exists(smp_python())) {
    why = smp_python() + " does not exist (scripts/deps.sh makes it)";
    return false;
  }
  const std::string probe = smp_python() + " -c 'import torch, segmentation_models_pytorch, timm' > /dev/null 2>&1";
  if (std::system(probe.c_str()) != 0) {
    why = smp_python() + " cannot import torch, segmentation_models_pytorch and timm (scripts/deps.sh installs them)";
    return false;
  }
  return true;
}

SafetensorsFile run_torch_script(const std::string& script, const std::map<std::string, Tensor>& inputs,
                                 const std::string& spec_json, const std::string& python) {
  static int counter = 0;
  const fs::path dir =
      fs::temp_directory_path() / ("cuseg_torch_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(dir);
  const std::string in = (dir / "in.safetensors").string(), out = (dir / "out.safetensors").string();
  const std::string err = (dir / "stderr.txt").string();
  save_safetensors(in, inputs, {{"spec", spec_json}});
  const std::string cmd =
      (python.empty() ? std::string(kPython) : python) + " " + CUSEG_SOURCE_DIR + "/tests/" + script + " " + in + " " + out + " 2> " + err;
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream e(err);
    std::stringstream text;
    text << e.rdbuf();
    throw Error(cmd + " failed:\n" + text.str());
  }
  SafetensorsFile result = load_safetensors(out);
  fs::remove_all(dir);
  return result;
}

}  // namespace cuseg::test
