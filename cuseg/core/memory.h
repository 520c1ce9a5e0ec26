// Raw allocations behind Tensor storage. Device memory comes from CUDA's stream-ordered pool
// (cudaMallocAsync on the device's stream), host memory is either pageable (aligned new, large
// blocks through a cache that keeps them for reuse: core/host_cache.h) or page-locked
// (cudaMallocHost) for fast asynchronous transfers.
#pragma once

#include <cstddef>

#include "cuseg/core/device.h"

namespace cuseg {

enum class HostMemory { Pageable, Pinned };

// Throws OutOfMemory (saying what was asked for and what was free) when the memory is not there,
// after giving the stream-ordered pool's cached blocks back to the device and trying once more.
void* allocate_bytes(size_t bytes, Device device, HostMemory host = HostMemory::Pageable);
// `bytes` is what was asked of allocate_bytes. Device memory is freed in stream order: kernels
// already queued on the device's stream that use it still may. Never fails (errors are dropped:
// it runs in destructors, also during unwinding).
void free_bytes(void* ptr, size_t bytes, Device device,
                HostMemory host = HostMemory::Pageable) noexcept;

// Memory of a CUDA device as the driver sees it (cudaMemGetInfo): bytes free and in total.
// Blocks the stream-ordered pool keeps for reuse count as used.
struct CudaMemoryInfo {
  size_t free = 0, total = 0;
};
CudaMemoryInfo cuda_memory_info(Device device);

// Copies bytes between any two devices, ordered on the CUDA stream of the device involved.
// Returns when `dst` holds the data if dst is on the host.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace cuseg
