// Internal to cuseg/emu: what the runtime (runtime.cpp), the block runner (block_runner.cpp) and
// the emulated NCCL (nccl.cpp) share.
#pragma once

#include <functional>
#include <string>

#include "cuseg/emu/launch.h"

namespace cuseg::emu {

// Runs every block of a grid, one block at a time, its threads as host threads; returns
// cudaSuccess, or the error that ended the kernel with `detail` saying what and where.
cudaError_t run_grid(const LaunchSpec& spec, const std::function<void()>& thread_body, std::string& detail);

// Launch-limit checks (the H100's), on the launching thread: cudaSuccess or
// cudaErrorInvalidConfiguration with `detail` naming the kernel and the dimension.
// The dynamic shared memory `kernel` may use: 48 KiB, or what cudaFuncSetAttribute allowed.
int max_dynamic_shared(const void* kernel);

cudaError_t check_launch(const LaunchSpec& spec, std::string& detail);

// Whether [p, p + bytes) lies inside one live device allocation (for the emulated NCCL, which a
// host pointer would crash on a device).
bool is_device_memory(const void* p, size_t bytes);

}  // namespace cuseg::emu
