#include "oracle.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "cuseg/core/error.h"

namespace cuseg::test {

std::string oracle_python() { return std::string(CUSEG_SOURCE_DIR) + "/.venv/bin/python"; }

bool missing_oracle_fails() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

bool oracle_available(const std::string& modules, std::string& why) {
  if (!std::filesystem::exists(oracle_python())) {
    why = oracle_python() + " does not exist (scripts/deps.sh makes it)";
    return false;
  }
  std::istringstream names(modules);
  for (std::string m; names >> m;) {
    if (std::system((oracle_python() + " -c 'import " + m + "' > /dev/null 2>&1").c_str()) != 0) {
      why = oracle_python() + " cannot import " + m + " (scripts/deps.sh installs it from PyPI)";
      return false;
    }
  }
  return true;
}

std::string run_oracle(const std::string& script_and_args) {
  const std::string cmd = oracle_python() + " " + CUSEG_SOURCE_DIR + "/tests/" + script_and_args;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw Error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  if (::pclose(p) != 0) throw Error(cmd + " failed:\n" + out);
  return out;
}

}  // namespace cuseg::test
