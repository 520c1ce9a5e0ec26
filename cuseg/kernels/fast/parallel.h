// Internal: the two tools every memory-bound kernel of the fast CPU path is built from.
//
// CUSEG_ISA_CLONES compiles a function three times — x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA)
// and baseline x86-64 — and the loader picks the best the CPU has (GCC's target_clones, an
// ifunc), so a shipped library never assumes -march=native. Mark the loops, not the OpenMP
// drivers: the cloned function is the body one thread runs on one chunk.
//
// for_chunks splits [0, n) into chunks of a fixed size and runs them in parallel. The split
// depends on n and the chunk size only, never on the thread count, so a reduction that keeps one
// partial per chunk and combines them in chunk order gives the same bits on any number of threads.
#pragma once

#include <algorithm>
#include <cstdint>

namespace cuseg::fast {

// Not under ThreadSanitizer: it instruments the ifunc resolver, which the loader calls before
// the sanitizer's runtime is up, and the process crashes at load (seen with GCC 12). That build
// tests the same source with the baseline loop only.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define CUSEG_ISA_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CUSEG_ISA_CLONES
#endif

// The clone CUSEG_ISA_CLONES functions run on this CPU: "x86-64-v4", "x86-64-v3" or "x86-64".
const char* clone_isa();

inline int64_t chunk_count(int64_t n, int64_t chunk) { return (n + chunk - 1) / chunk; }

// f(k, begin, end) for every chunk k = [begin, end) of [0, n).
template <class F>
void for_chunks(int64_t n, int64_t chunk, F&& f) {
  const int64_t chunks = chunk_count(n, chunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; ++k) f(k, k * chunk, std::min(n, (k + 1) * chunk));
}

// Elements per chunk of a flat elementwise loop: 64 KiB of floats, long enough to amortize the
// dispatch, short enough to split a 64×64×16 activation across many threads.
inline constexpr int64_t kFlatChunk = 16384;

// Rows per chunk of a rows × channels pass: about kFlatChunk elements, at least one row.
inline int64_t row_chunk(int channels) {
  return std::max<int64_t>(1, kFlatChunk / std::max(1, channels));
}

}  // namespace cuseg::fast
