#include "cuseg/core/host_cache.h"

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// A cached block is poisoned, so a use after free through a stale pointer is still reported.
#define CUSEG_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define CUSEG_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define CUSEG_POISON(p, n) ((void)(p), (void)(n))
#define CUSEG_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace cuseg::host_cache {

namespace {

constexpr size_t kAlignment = 64;      // a cache line; also enough for any vector load
constexpr size_t kSmallest = 64 << 10;  // below this glibc's own free lists serve well

size_t cap_bytes() {
  const char* v = std::getenv("CUSEG_HOST_CACHE_MB");
  const long long mb = v ? std::atoll(v) : 4096;
  return size_t(mb < 0 ? 0 : mb) << 20;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by block size
  size_t cached = 0, hits = 0, misses = 0;
  const size_t cap = cap_bytes();

  void release_locked() {
    for (auto& [size, blocks] : free_blocks)
      for (void* p : blocks) {
        CUSEG_UNPOISON(p, size);
        ::operator delete(p, std::align_val_t(kAlignment));
      }
    free_blocks.clear();
    cached = 0;
  }
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors may be freed during static destruction
  return *c;
}

void* system_allocate(size_t bytes) noexcept {
  return ::operator new(bytes, std::align_val_t(kAlignment), std::nothrow);
}

}  // namespace

size_t block_size(size_t bytes) noexcept {
  if (bytes < kSmallest) return bytes;
  const size_t step = std::bit_floor(bytes) / 8;
  return (bytes + step - 1) / step * step;
}

void* allocate(size_t bytes) noexcept {
  if (bytes < kSmallest) return system_allocate(bytes);
  const size_t size = block_size(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= size;
      ++c.hits;
      CUSEG_UNPOISON(p, size);
      return p;
    }
    ++c.misses;
  }
  if (void* p = system_allocate(size)) return p;
  release();
  return system_allocate(size);
}

void free(void* p, size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < kSmallest) {
    ::operator delete(p, std::align_val_t(kAlignment));
    return;
  }
  const size_t size = block_size(bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.cached + size > c.cap) {
    if (size > c.cap) {
      ::operator delete(p, std::align_val_t(kAlignment));
      return;
    }
    c.release_locked();  // sizes have changed (a new image size, say): start over
  }
  CUSEG_POISON(p, size);
  c.free_blocks[size].push_back(p);
  c.cached += size;
}

void release() noexcept {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.release_locked();
}

Stats stats() noexcept {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {c.cached, c.hits, c.misses};
}

}  // namespace cuseg::host_cache
