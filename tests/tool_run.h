// Running the command-line tools from tests: a shell command line in a folder, the build's tools
// first on PATH, its exit status and output; a run's log.jsonl.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cuseg/core/error.h"

namespace cuseg {

struct ToolRun {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Where the tools are: the build's apps folder, or $CUSEG_TOOLS_DIR (a build copied elsewhere).
inline std::string tools_dir() {
  const char* env = std::getenv("CUSEG_TOOLS_DIR");
  return env && *env ? env : CUSEG_TOOLS_DIR;
}

// Runs a shell command line in `dir`, the tools first on PATH.
inline ToolRun run(const std::filesystem::path& dir, const std::string& command) {
  const std::string line = str_cat("cd '", dir.string(), "' && PATH='", tools_dir(), "':\"$PATH\" ", command, " 2>&1");
  ToolRun r;
  FILE* p = ::popen(line.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline std::vector<nlohmann::json> log_of(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / "log.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
  return out;
}

}  // namespace cuseg
