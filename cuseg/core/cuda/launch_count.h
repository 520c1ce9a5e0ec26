// Kernel launches counted by the CUDA side itself, for tests and benchmarks that assert a launch
// budget ("one fused launch per optimizer step"). Plain C++: callable from code built without
// CUDA headers.
#pragma once

#include <cstdint>
#include <functional>

#include "cuseg/core/device.h"

namespace cuseg::cuda {

// Runs `work` and returns how many kernels it launched on `device`'s stream. In the emulated
// build that is the launcher's own per-stream count. On a GPU, `work` is captured into a CUDA
// graph whose kernel nodes are counted, then the graph runs once, so `work`'s effects happen as
// usual; `work` must then be capturable (no synchronization, no copy to pageable memory).
int64_t count_kernel_launches(Device device, const std::function<void()>& work);

}  // namespace cuseg::cuda
