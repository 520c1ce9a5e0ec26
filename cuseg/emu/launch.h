// The emulated launch: checks the configuration against an H100's limits on the calling thread
// (an invalid one is reported by the next cudaGetLastError, with the kernel's name and the
// offending dimension, as a real launch would be), counts the launch on its stream, and queues
// the grid on the stream's worker. Only cuseg/core/cuda/launch.h calls this.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "cuseg/emu/runtime_api.h"

namespace cuseg::emu {

struct LaunchSpec {
  const char* name;
  const void* kernel;  // identifies the kernel for cudaFuncSetAttribute
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;
};

// Validates, counts and queues; `thread_body` runs once per CUDA thread.
void submit(const LaunchSpec& spec, std::function<void()> thread_body);

template <class... Params>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Params... args) {
  // Each CUDA thread gets its own copy of the parameters, as on the device.
  submit(LaunchSpec{name, reinterpret_cast<const void*>(kernel), grid, block, shared_bytes, stream},
         [kernel, ... args = std::move(args)]() { kernel(args...); });
}

// Kernels launched on `stream` so far (0 for a stream that never launched one). Launches
// refused for their configuration are not counted.
int64_t launch_count(cudaStream_t stream);

// How later grids run, as CUSEG_EMU_SCHEDULE would say ("" in order, "threads", "shuffled"; see
// block_runner.cpp): for the emulator's own tests of what each schedule shows.
void set_schedule(const std::string& name);

// The message behind the last error: which kernel, which limit, which thread.
const char* last_error_detail();

}  // namespace cuseg::emu
