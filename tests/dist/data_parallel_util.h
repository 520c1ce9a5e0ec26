// What the data-parallel tests share: the small network they train, why mpirun cannot run here,
// and the comparison of a run's checkpoint with one process's.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cuseg/config.h"
#include "cuseg/core/safetensors.h"
#include "test_util.h"
#include "tool_run.h"

namespace cuseg::dp {

// unet-s at base 8, depth 3, on 32×32 synthetic images, without batch norm unless a test adds
// --bn 1 (a later flag wins). Cross-entropy without ignored pixels: the mean of the ranks' means
// is the batch's even without Loss::synchronize (a test of its own checks ce+dice with them).
constexpr const char* kNet =
    "seg_train --base 8 --depth 3 --size 32 --bn 0 --loss ce --batch 8 --epochs 1 "
    "--synthetic-train 48 "
    "--synthetic-val 13 --no-progress --tensorboard none --seed 3";

// Synchronized batch norm with momentum SGD: each rank's variance comes back from its invstd in
// float32 (as in PyTorch's SyncBatchNorm), a rounding of ~1e-7 that Adam's division by √v would
// magnify where a gradient is near zero (2e-5 of the largest weight after 5 steps, measured; 5e-7
// with SGD).
constexpr const char* kSyncBn = " --bn 1 --optimizer momentum --lr 0.05";

// The bound: each rank sums its half of the batch's gradients, and the two halves are added
// (one process sums all in another order); Adam's normalization passes on the relative rounding
// of those sums, about 1e-7, and five steps let it grow to ~1e-6.
constexpr double kSameSteps = 1e-5;

// mpirun as the tests run it: as root in CI, and ranks sharing CI's 2 cores.
constexpr const char* kMpirun = CUSEG_MPIEXEC " --allow-run-as-root --oversubscribe ";

inline std::string mpirun_np(int ranks) { return str_cat(kMpirun, "-np ", ranks, " "); }

// Why these tests cannot run here, or empty.
inline std::string missing_mpi() {
  if (!CUSEG_HAS_MPI) return "built without MPI (CUSEG_MPI; Debian: libopenmpi-dev)";
  if (run(".", "command -v " CUSEG_MPIEXEC).code != 0) return CUSEG_MPIEXEC " not found";
  return "";
}

// Every tensor of two checkpoints: weights, optimizer state, batch-norm running statistics, the
// step counter.
inline void expect_same_state(const std::filesystem::path& got, const std::filesystem::path& ref,
                              double tolerance) {
  const SafetensorsFile a = load_safetensors(got.string()), b = load_safetensors(ref.string());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : b.tensors) {
    ASSERT_TRUE(a.tensors.count(name)) << name;
    if (t.dtype() == DType::F32)
      EXPECT_TRUE(test::close(a.tensors.at(name), t, tolerance, name, 0));
    else
      EXPECT_TRUE(test::identical(a.tensors.at(name), t, name, 0));
  }
  const auto steps = [](const SafetensorsFile& f) {
    return nlohmann::json::parse(f.metadata.at("train_state"))["steps"];
  };
  EXPECT_EQ(steps(a), steps(b));
}

}  // namespace cuseg::dp
