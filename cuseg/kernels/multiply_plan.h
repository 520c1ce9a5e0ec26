// Internal: a broadcast product x ⊙ s (kernels/multiply.h) folded into five dimensions, for the
// kernels that are not the reference. Adjacent axes that s both keeps (or both repeats along) are
// merged, so x [N, H, W, C] becomes [d0, d1, d2, d3, d4] with s [d0, d2, d4]: s repeats along d1
// and d3. Four axes give at most four alternating runs, which fit after a leading kept d0 (1 if x
// starts with a repeated axis). Channel attention is [N, H·W, C, 1, 1]; spatial attention
// [N·H·W, C, 1, 1, 1]; the plain product [N·H·W·C, 1, 1, 1, 1].
#pragma once

#include <cstdint>

#include "cuseg/core/hd.h"

namespace cuseg {

struct MultiplyPlan {
  int64_t d[5] = {1, 1, 1, 1, 1};

  // Built from x's and s's dimensions (every s dimension 1 or x's: checked by the caller).
  static MultiplyPlan of(const int64_t (&x)[4], const int64_t (&s)[4]) {
    MultiplyPlan p;
    int slot = 0;
    for (int i = 0; i < 4; ++i) {
      if (x[i] == 1) continue;  // a size-1 axis joins any run
      const bool repeated = s[i] == 1;
      if ((slot % 2 == 1) != repeated) ++slot;  // kept runs are the even slots, repeated the odd
      p.d[slot] *= x[i];
    }
    return p;
  }

  CUSEG_HD int64_t s_numel() const { return d[0] * d[2] * d[4]; }
  CUSEG_HD int64_t repeats() const { return d[1] * d[3]; }
  // x's flat index i → s's.
  CUSEG_HD int64_t s_index(int64_t i) const {
    const int64_t e = i % d[4];
    i /= d[4] * d[3];
    const int64_t c = i % d[2];
    const int64_t a = i / (d[2] * d[1]);
    return (a * d[2] + c) * d[4] + e;
  }
  // x's flat index of s element j's r-th repeat (r < repeats()).
  CUSEG_HD int64_t x_index(int64_t j, int64_t r) const {
    const int64_t e = j % d[4], c = (j / d[4]) % d[2], a = j / (d[4] * d[2]);
    const int64_t dd = r % d[3], b = r / d[3];
    return (((a * d[1] + b) * d[2] + c) * d[3] + dd) * d[4] + e;
  }
  // The form [A, B, C'] with s [A, C'] (no second repeated run): every case the networks have.
  bool single_repeat() const { return d[3] == 1 && d[4] == 1; }
};

}  // namespace cuseg
