// Internal: the cache behind pageable host allocations of 64 KiB and more. A training step frees
// and reallocates the same activation sizes every step; glibc returns blocks over its mmap
// threshold (up to 32 MiB) to the kernel on free, so without a cache every such activation
// page-faults on every step. Freed blocks are kept per size class (8 per power of two, so a
// block is at most 12.5% larger than asked) and handed out again; the cache gives its blocks back
// when it would hold more than CUSEG_HOST_CACHE_MB (default 4096) or when asked to.
#pragma once

#include <cstddef>

namespace cuseg::host_cache {

// nullptr when the memory is not there (after releasing the cache and trying once more).
void* allocate(size_t bytes) noexcept;
void free(void* p, size_t bytes) noexcept;

// Gives every cached block back to the system.
void release() noexcept;

struct Stats {
  size_t cached_bytes = 0;  // held for reuse
  size_t hits = 0, misses = 0;
};
Stats stats() noexcept;

// The size a block for `bytes` really has (its class).
size_t block_size(size_t bytes) noexcept;

}  // namespace cuseg::host_cache
