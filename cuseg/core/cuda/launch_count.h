// Kernel launches counted by the CUDA side itself, for tests and benchmarks that assert a launch
// budget ("one fused launch per optimizer step"). Plain C++: callable from code built without
// CUDA headers.
#pragma once

#include <cstdint>
#include <functional>

#include "cuseg/core/device.h"

namespace cuseg::cuda {

// Runs `work` and returns how many kernels it launched on `device`'s stream: `work` is captured
// into a CUDA graph whose kernel nodes are counted, then the graph runs once, so `work`'s effects
// happen as usual. `work` must be capturable (no synchronization, no allocation, no copy to or
// from pageable memory); the emulated device refuses what a GPU would (cuseg/emu/graph.cpp).
int64_t count_kernel_launches(Device device, const std::function<void()>& work);

}  // namespace cuseg::cuda
