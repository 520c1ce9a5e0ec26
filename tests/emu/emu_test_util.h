// What the emulated device's tests share: device buffers to and from the host, and a kernel
// fault expected in a death test's child.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuseg/core/cuda/runtime.h"
#include "cuseg/core/error.h"
#include "cuseg/emu/sanitizers.h"

namespace cuseg::cuda {

inline constexpr bool kThreadSanitizer = CUSEG_EMU_TSAN;

template <class T>
std::vector<T> to_host(const T* device, size_t n) {
  std::vector<T> host(n);
  // cuseg's stream is non-blocking: the legacy stream's cudaMemcpy does not wait for it.
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(stream(0)));
  CUSEG_CUDA_CHECK(cudaMemcpy(host.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

template <class T>
T* device_alloc(size_t n) {
  void* p = nullptr;
  CUSEG_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  return static_cast<T*>(p);
}

// Faults end the process's CUDA context, as on a device: each runs in a death test's child.
inline void expect_kernel_fault(void (*launch)(), const std::string& message) {
  EXPECT_EXIT(
      {
        try {
          launch();
          CUSEG_CUDA_CHECK(cudaStreamSynchronize(stream(0)));
        } catch (const Error& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::exit(3);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(3), message);
}

// ThreadSanitizer's report of a race the launch plants, in a death test's child: reported there,
// naming the kernel, and the child's exit status is TSan's (66).
inline void expect_race_report(void (*launch)(), const std::string& kernel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        launch();
        CUSEG_CUDA_CHECK(cudaStreamSynchronize(stream(0)));
        std::exit(0);
      },
      ::testing::ExitedWithCode(66), "ThreadSanitizer: data race(.|\n)*" + kernel);
}

}  // namespace cuseg::cuda
