#include "cuseg/kernels/fast/multiply.h"

#include <algorithm>
#include <vector>

#include "cuseg/core/error.h"
#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

namespace {

CUSEG_ISA_CLONES void times_vector(const float* a, const float* s, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * s[i];
}

CUSEG_ISA_CLONES void times_scalar(const float* a, float s, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * s;
}

// acc[c] += Σ over `rows` rows of width n of dy·x, row by row.
CUSEG_ISA_CLONES void add_products(const float* x, const float* dy, double* acc, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c) acc[c] += double(dy[r * n + c]) * double(x[r * n + c]);
}

// out[r] = Σ over row r of width n of dy·x, in double, for `rows` rows: four lanes (c mod 4),
// added in a fixed order at the end, so the loop vectorizes and the bits do not depend on threads.
CUSEG_ISA_CLONES void row_products(const float* x, const float* dy, float* out, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float* dr = dy + r * n;
    double lane[4] = {0, 0, 0, 0};
    int64_t c = 0;
    for (; c + 4 <= n; c += 4)
      for (int k = 0; k < 4; ++k) lane[k] += double(dr[c + k]) * double(xr[c + k]);
    for (; c < n; ++c) lane[c % 4] += double(dr[c]) * double(xr[c]);
    out[r] = float((lane[0] + lane[1]) + (lane[2] + lane[3]));
  }
}

// out = a ⊙ s over [A, B, C'] with s [A, C'].
void scale_by(const float* a, const float* s, float* out, const MultiplyPlan& p) {
  const int64_t A = p.d[0], B = p.d[1], C = p.d[2];
  if (B == 1) {  // the plain product
    for_chunks(A * C, kFlatChunk, [&](int64_t, int64_t b, int64_t e) { times_vector(a + b, s + b, out + b, e - b); });
    return;
  }
  if (C == 1) {  // one s value per run of B: spatial attention (B = channels), a scalar s
    for_chunks(A * B, kFlatChunk, [&](int64_t, int64_t b, int64_t e) {
      for (int64_t r = b / B; r * B < e; ++r) {
        const int64_t lo = std::max(b, r * B), hi = std::min(e, (r + 1) * B);
        times_scalar(a + lo, s[r], out + lo, hi - lo);
      }
    });
    return;
  }
  // Rows of C', row r = (a, b) reading s's row a: channel attention (C' = channels).
  for_chunks(A * B, row_chunk(int(std::min<int64_t>(C, kFlatChunk))), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) times_vector(a + r * C, s + (r / B) * C, out + r * C, C);
  });
}

// ds[a, c'] = Σ_b dy·x over [A, B, C'], in double: B split in fixed blocks, each block's partial
// sums kept and added in block order (or, for short rows of one s element each, row_products).
void product_sums(const float* x, const float* dy, float* ds, const MultiplyPlan& p) {
  const int64_t A = p.d[0], B = p.d[1], C = p.d[2];
  if (B == 1) {  // nothing to sum: dy·x, whose float product is the double one rounded once
    scale_by(dy, x, ds, p);
    return;
  }
  if (C == 1 && B <= kFlatChunk) {  // one short row per s element: spatial attention (B = channels)
    for_chunks(A, row_chunk(int(B)), [&](int64_t, int64_t b, int64_t e) {
      row_products(x + b * B, dy + b * B, ds + b, e - b, B);
    });
    return;
  }
  const int64_t block = row_chunk(int(std::min<int64_t>(C, kFlatChunk)));
  const int64_t blocks = chunk_count(B, block);
  std::vector<double> partial(size_t(A * blocks * C), 0.0);
  for_chunks(A * blocks, 1, [&](int64_t k, int64_t, int64_t) {
    const int64_t a = k / blocks, first = (k % blocks) * block, rows = std::min(B, first + block) - first;
    const int64_t at = (a * B + first) * C;
    add_products(x + at, dy + at, partial.data() + k * C, rows, C);
  });
  for_chunks(A, 1, [&](int64_t a, int64_t, int64_t) {
    for (int64_t c = 0; c < C; ++c) {
      double total = 0;
      for (int64_t k = 0; k < blocks; ++k) total += partial[size_t((a * blocks + k) * C + c)];
      ds[a * C + c] = float(total);
    }
  });
}

}  // namespace

void multiply_forward(const float* x, const float* s, float* y, const MultiplyPlan& plan) {
  CUSEG_CHECK(plan.single_repeat(), "internal: fast multiply_forward on a plan with two repeated runs");
  scale_by(x, s, y, plan);
}

void multiply_backward(const float* x, const float* s, const float* dy, float* dx, float* ds, const MultiplyPlan& plan) {
  CUSEG_CHECK(plan.single_repeat(), "internal: fast multiply_backward on a plan with two repeated runs");
  if (ds) product_sums(x, dy, ds, plan);  // first: dx may alias dy
  if (dx) scale_by(dy, s, dx, plan);
}

}  // namespace cuseg::fast
