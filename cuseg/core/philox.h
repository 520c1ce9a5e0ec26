// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
// counter-based generator. One implementation serves host and device, so a dropout mask or an
// initializer drawn from (seed, counter) is bit-identical on the CPU and on the GPU.
#pragma once

#include <cstdint>

#include "cuseg/core/hd.h"

namespace cuseg {

struct Philox4x32 {
  uint32_t v[4];
};

CUSEG_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t product = uint64_t(a) * uint64_t(b);
  hi = uint32_t(product >> 32);
  lo = uint32_t(product);
}

// The 128-bit block number `counter` (c0 least significant) under the 64-bit `key`.
CUSEG_HD Philox4x32 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                  uint32_t k1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kMul0, c0, hi0, lo0);
    philox_mulhilo(kMul1, c2, hi1, lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return Philox4x32{{c0, c1, c2, c3}};
}

// The i-th 32-bit word of the stream for `seed`: word i lives in block i/4, lane i%4, with the
// block index as the low 64 bits of the counter. Any element of a tensor can be drawn alone.
CUSEG_HD uint32_t philox_word(uint64_t seed, uint64_t i) {
  uint64_t block = i >> 2;
  Philox4x32 r = philox4x32_10(uint32_t(block), uint32_t(block >> 32), 0u, 0u, uint32_t(seed),
                               uint32_t(seed >> 32));
  return r.v[i & 3];
}

// Sequential reads of the stream: word i comes from the block computed for word i−1 whenever
// they share one, so walking the stream costs one Philox evaluation per four words.
struct PhiloxCursor {
  uint64_t seed;
  uint64_t block = ~uint64_t(0);
  Philox4x32 words{};

  CUSEG_HD uint32_t word(uint64_t i) {
    if ((i >> 2) != block) {
      block = i >> 2;
      words = philox4x32_10(uint32_t(block), uint32_t(block >> 32), 0u, 0u, uint32_t(seed), uint32_t(seed >> 32));
    }
    return words.v[i & 3];
  }
  CUSEG_HD double uniform01(uint64_t i) { return double(word(i) >> 8) * (1.0 / 16777216.0); }
};

// Uniform in [0, 1) with 24 random bits: exactly representable in float and in double.
CUSEG_HD double philox_uniform01(uint64_t seed, uint64_t i) {
  return double(philox_word(seed, i) >> 8) * (1.0 / 16777216.0);
}

}  // namespace cuseg
