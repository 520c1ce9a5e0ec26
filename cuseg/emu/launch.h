// The emulated launch: checks the configuration against an H100's limits on the calling thread
// (an invalid one is reported by the next cudaGetLastError, with the kernel's name and the
// offending dimension, as a real launch would be), counts the launch on its stream, and queues
// the grid on the stream's worker. Only cuseg/core/cuda/launch.h calls this.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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
// For tests that a steady step neither allocates nor waits: the device allocations made in the
// process (cudaMalloc, cudaMallocAsync), and the times the calling thread waited for the device
// (cudaStreamSynchronize, cudaDeviceSynchronize, cudaEventSynchronize, and the copies to pageable
// host memory and cudaMemcpy, which synchronize) — a data loader's threads waiting for their
// copies are not the training loop's.
int64_t device_allocations();
int64_t host_waits();

// How later grids run, as CUSEG_EMU_SCHEDULE would say ("" in order, "threads", "shuffled"; see
// block_runner.cpp): for the emulator's own tests of what each schedule shows.
void set_schedule(const std::string& name);

// What the counted accesses of a kernel's hot loops (kernels/cuda/counted_access.cuh) would cost
// on the device, summed over its launches while counting was on:
//   shared: per warp-wide request, the wavefronts it takes (the most distinct 4-byte words any
//   of the 32 banks must serve, per phase: 32 lanes for accesses of up to 4 bytes, 16 for 8,
//   8 for 16) and the fewest it could take (one a phase); the difference is bank conflicts.
//   global: per request, the 32-byte sectors its lanes touch, and the bytes they ask for.
struct AccessCounts {
  int64_t shared_requests = 0, shared_wavefronts = 0, shared_ideal_wavefronts = 0;
  int64_t global_requests = 0, global_sectors = 0, global_bytes = 0;
  int64_t bank_conflicts() const { return shared_wavefronts - shared_ideal_wavefronts; }
  // The share of the sectors' bytes that were asked for (1 when perfectly coalesced).
  double sector_efficiency() const { return global_sectors ? double(global_bytes) / (32.0 * global_sectors) : 1.0; }
};
// Starts (clearing every count) or stops counting. Counting makes the counted accesses warp
// collectives: slow, for the tests of the kernels' memory access patterns.
void count_accesses(bool on);
// The counts by kernel, named as at its launch (CUSEG_LAUNCH's first argument).
std::map<std::string, AccessCounts> access_counts();

// The message behind the last error: which kernel, which limit, which thread.
const char* last_error_detail();

}  // namespace cuseg::emu
