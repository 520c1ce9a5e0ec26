// Two training runs compared: their checkpoints tensor for tensor, byte for byte, and their
// log.jsonl lines but for what depends on time.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cuseg/core/safetensors.h"
#include "test_util.h"

namespace cuseg::test {

inline void expect_same_tensors(const std::string& a, const std::string& b) {
  const SafetensorsFile fa = load_safetensors(a), fb = load_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (const auto& [name, t] : fa.tensors) {
    ASSERT_TRUE(fb.tensors.count(name)) << name;
    EXPECT_TRUE(identical(t, fb.tensors.at(name), name, 0));
  }
}

// A run's log.jsonl, each line without its seconds, images/s and data wait.
inline std::vector<nlohmann::json> log_without_time(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / "log.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(in, l);) {
    nlohmann::json j = nlohmann::json::parse(l);
    for (const char* k : {"seconds", "images_per_s", "data_wait"}) j.erase(k);
    lines.push_back(j);
  }
  return lines;
}

}  // namespace cuseg::test
