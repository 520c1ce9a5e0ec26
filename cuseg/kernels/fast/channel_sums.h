// Internal: the per-channel loops of the fast path's normalizations (batch norm over all rows,
// group norm over each sample's rows): a chunk of rows × channels (NHWC flattened) reduced per
// channel in double, or mapped per channel. Each is one thread's work on one chunk, vectorized
// across the channels (parallel.h's CUSEG_ISA_CLONES).
#pragma once

#include <cstdint>

namespace cuseg::fast {

// Count, mean and Σ(x − mean)² of a set of values; merge adds another set (Chan et al.'s pairwise
// update: n_ab = n_a + n_b, δ = mean_b − mean_a, mean_ab = mean_a + δ·n_b/n_ab,
// m2_ab = m2_a + m2_b + δ²·n_a·n_b/n_ab), so no E[x²] − E[x]² cancellation.
struct Moments {
  double n = 0, mean = 0, m2 = 0;
  void merge(const Moments& b) {
    if (b.n == 0) return;
    const double delta = b.mean - mean, nab = n + b.n;
    mean += delta * b.n / nab;
    m2 += b.m2 + delta * delta * n * b.n / nab;
    n = nab;
  }
};

// mean[c] and m2[c] = Σ (x − mean)² over `rows` rows, in double.
void chunk_moments(const float* x, int64_t rows, int channels, double* mean, double* m2);
// y = (x − mean)·a + b per channel, then max(y, 0) if `relu`. Centred first: x·a − mean·a would
// cancel where |mean| is large against the spread.
void normalize(const float* x, float* y, int64_t rows, int channels, const float* mean,
               const float* a, const float* b, bool relu);
// sum_dy[c] = Σ g and sum_dy_dev[c] = Σ g·(x − mean), in double, with g = dy, or dy·[y > 0] where
// a forward fused a ReLU (y non-null).
void chunk_grad_sums(const float* x, const float* y, const float* dy, int64_t rows, int channels,
                     const float* mean, double* sum_dy, double* sum_dy_dev);
// dx = g·a + (x − mean)·b + k per channel, g as above.
void grad_combine(const float* x, const float* y, const float* dy, float* dx, int64_t rows,
                  int channels, const float* mean, const float* a, const float* b, const float* k);

}  // namespace cuseg::fast
