// How the tensor-core convolution's main loop touches memory, as the hardware would count it: the
// emulator's access counters (emu::count_accesses) over the loop's counted loads and stores
// (kernels/cuda/counted_access.cuh). Every shared-memory access of the loop — the tiles' stores,
// contiguous in k or in their rows, and the fragment reads — must be free of bank conflicts
// (implicit_gemm_tc.cuh's swizzle), and the gathers from global memory must use at least 90% of
// the sectors they touch, in all three directions, tf32 and bf16.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cuseg/core/cuda/runtime.h"
#include "cuseg/emu/launch.h"
#include "cuseg/kernels/cuda/conv2d.h"
#include "emu_test_util.h"
#include "test_util.h"

namespace cuseg::cuda {
namespace {

struct Direction {
  const char* name;
  void (*run)(const ConvGeometry&, Precision, float*, float*, float*);
};

const Direction kDirections[] = {
    {"forward", [](const ConvGeometry& g, Precision p, float* x, float* w,
                   float* y) { conv2d_forward(x, w, y, g, p, 0); }},
    {"backward data", [](const ConvGeometry& g, Precision p, float* x, float* w,
                         float* y) { conv2d_backward_data(y, w, x, g, p, 0); }},
    {"backward filter", [](const ConvGeometry& g, Precision p, float* x, float* w,
                           float* y) { conv2d_backward_filter(x, y, w, g, p, 0); }},
};

TEST(ConvAccessGpu, TensorCoreMainLoopHasNoBankConflictsAndCoalescedGathers) {
  CUSEG_REQUIRE_GPU();
  // A unet-s layer's shape, small: 64 channels in and out, 3×3, padding 1.
  const ConvGeometry g{2, 16, 16, 64, 64, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  float* x = device_alloc<float>(g.x_size());
  float* w = device_alloc<float>(g.w_size());
  float* y = device_alloc<float>(g.y_size());
  for (const Precision precision : {Precision::Tf32, Precision::Bf16})
    for (const Direction& d : kDirections) {
      SCOPED_TRACE(std::string(d.name) + (precision == Precision::Tf32 ? ", tf32" : ", bf16"));
      emu::count_accesses(true);
      d.run(g, precision, x, w, y);
      CUSEG_CUDA_CHECK(cudaStreamSynchronize(stream(0)));
      const auto counts = emu::access_counts();
      emu::count_accesses(false);
      bool found = false;
      for (const auto& [kernel, c] : counts) {
        if (kernel.find("implicit_gemm_tc_kernel") == std::string::npos) continue;
        found = true;
        std::printf("%s, %s: %lld shared requests in %lld wavefronts (%lld ideal); %lld global requests, "
                    "%lld bytes in %lld sectors (%.1f%%)\n",
                    d.name, precision == Precision::Tf32 ? "tf32" : "bf16", (long long)c.shared_requests,
                    (long long)c.shared_wavefronts, (long long)c.shared_ideal_wavefronts,
                    (long long)c.global_requests, (long long)c.global_bytes, (long long)c.global_sectors,
                    100 * c.sector_efficiency());
        EXPECT_GT(c.shared_requests, 0) << kernel;
        EXPECT_EQ(c.bank_conflicts(), 0) << kernel << ": " << c.shared_wavefronts << " wavefronts for "
                                         << c.shared_requests << " requests, " << c.shared_ideal_wavefronts
                                         << " without conflicts";
        EXPECT_GT(c.global_requests, 0) << kernel;
        EXPECT_GE(c.sector_efficiency(), 0.9) << kernel << ": " << c.global_bytes << " bytes asked for in "
                                              << c.global_sectors << " sectors";
      }
      EXPECT_TRUE(found) << "no tensor-core GEMM was counted";
    }
  cudaFree(x);
  cudaFree(w);
  cudaFree(y);
}

}  // namespace
}  // namespace cuseg::cuda
