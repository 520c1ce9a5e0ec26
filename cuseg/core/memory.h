// Raw allocations behind Tensor storage. Device memory comes from CUDA's stream-ordered pool
// (cudaMallocAsync on the device's stream), host memory is either pageable (aligned new) or
// page-locked (cudaMallocHost) for fast asynchronous transfers.
#pragma once

#include <cstddef>

#include "cuseg/core/device.h"

namespace cuseg {

enum class HostMemory { Pageable, Pinned };

void* allocate_bytes(size_t bytes, Device device, HostMemory host = HostMemory::Pageable);
void free_bytes(void* ptr, Device device, HostMemory host = HostMemory::Pageable) noexcept;

// Copies bytes between any two devices, ordered on the CUDA stream of the device involved.
// Returns when `dst` holds the data if dst is on the host.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace cuseg
