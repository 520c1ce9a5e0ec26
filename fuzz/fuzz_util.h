// What the fuzz targets share: cuseg reads files by path, so each input is written to a
// per-process scratch file first. A cuseg::Error is the expected answer to a bad file; anything
// else — a crash, a sanitizer report, another exception, a hang — is a finding. So is an answer
// that depends on what the heap held before: every target reads each input twice, once with the
// free heap zeroed and once with it dirtied, and the two outcomes must be equal
// (read_clean_and_dirty). CUSEG_FUZZ_PRINT=1 prints both outcomes of every input.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace cuseg::fuzz {

inline std::string scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("cuseg_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

// Allocates blocks of many sizes (16 bytes to 64 KiB, two of each), fills them with `pattern` and
// frees them, so that the next allocations of those sizes get memory holding the pattern rather
// than whatever an earlier input left there. (glibc hands freed blocks back at once. Under
// AddressSanitizer freed blocks wait in a quarantine first, so the pattern only reaches the
// decoder with ASAN_OPTIONS=quarantine_size_mb=0, as scripts/fuzz.sh runs half of its jobs;
// ASan's own malloc fill covers the first 4 KiB of every block either way.)
inline void fill_free_heap(unsigned char pattern) {
  std::vector<void*> blocks;
  for (size_t size = 16; size <= (size_t(64) << 10); size += size / 4 + 16)
    for (int k = 0; k < 2; ++k) {
      void* p = std::malloc(size);
      if (!p) std::abort();
      std::memset(p, pattern, size);
      blocks.push_back(p);
    }
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
}

// The same for the stack below the caller: locals a reader never sets hold `pattern`.
[[gnu::noinline]] inline void fill_stack(unsigned char pattern) {
  volatile unsigned char frame[32 << 10];
  for (size_t i = 0; i < sizeof(frame); ++i) frame[i] = pattern;
}

// Runs `outcome` (a description of everything reading one input produced: values, sizes, hashes,
// error messages) with the free heap and the stack zeroed, then dirtied: a non-zero pattern,
// then `leave_stale` (a target's way of leaving realistic leftovers, e.g. a decoded image's
// decoder state, in freed memory). Outcomes that differ mean a reader used memory it never
// wrote: reported, and the input kept as a crash.
template <class Outcome, class Stale>
void read_clean_and_dirty(Outcome&& outcome, Stale&& leave_stale) {
  fill_free_heap(0x00);
  fill_stack(0x00);
  const std::string clean = outcome();
  fill_free_heap(0xA5);
  fill_stack(0xA5);
  leave_stale();
  const std::string dirty = outcome();
  static const bool print = std::getenv("CUSEG_FUZZ_PRINT") != nullptr;  // to see what an input gives
  if (print) std::fprintf(stderr, "zeroed heap:  %s\ndirtied heap: %s\n", clean.c_str(), dirty.c_str());
  if (clean != dirty) {
    std::fprintf(stderr, "finding: the outcome depends on the heap's earlier contents\n  zeroed heap:  %s\n  dirtied heap: %s\n",
                 clean.c_str(), dirty.c_str());
    std::abort();
  }
}

template <class Outcome>
void read_clean_and_dirty(Outcome&& outcome) {
  read_clean_and_dirty(outcome, [] {});
}

// FNV-1a over 8-byte words (then the tail), for outcomes that hold decoded data: a byte at a
// time, the hash of a 4-megapixel image took seconds under the sanitizers and coverage.
inline uint64_t hash_bytes(const void* data, size_t size, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
  }
  for (; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace cuseg::fuzz
