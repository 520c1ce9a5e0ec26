#include "cuseg/kernels/fast/channel_sums.h"

#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

namespace {

// dy, or dy·[y > 0] where the forward fused a ReLU (y non-null), as activation_backward multiplies.
[[gnu::always_inline]] inline float upstream(const float* y, const float* dy, int64_t i) {
  return y ? dy[i] * (y[i] > 0.f ? 1.f : 0.f) : dy[i];
}

}  // namespace

CUSEG_ISA_CLONES void chunk_moments(const float* x, int64_t rows, int channels, double* mean,
                                    double* m2) {
  for (int c = 0; c < channels; ++c) mean[c] = m2[c] = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) mean[c] += double(x[r * channels + c]);
  for (int c = 0; c < channels; ++c) mean[c] /= double(rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const double d = double(x[r * channels + c]) - mean[c];
      m2[c] += d * d;
    }
}

CUSEG_ISA_CLONES void normalize(const float* x, float* y, int64_t rows, int channels,
                                const float* mean, const float* a, const float* b, bool relu) {
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const float v = (x[r * channels + c] - mean[c]) * a[c] + b[c];
      y[r * channels + c] = relu ? (v > 0.f ? v : 0.f) : v;
    }
}

CUSEG_ISA_CLONES void chunk_grad_sums(const float* x, const float* y, const float* dy, int64_t rows,
                                      int channels, const float* mean, double* sum_dy,
                                      double* sum_dy_dev) {
  for (int c = 0; c < channels; ++c) sum_dy[c] = sum_dy_dev[c] = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const double g = double(upstream(y, dy, r * channels + c));
      sum_dy[c] += g;
      sum_dy_dev[c] += g * (double(x[r * channels + c]) - double(mean[c]));
    }
}

CUSEG_ISA_CLONES void grad_combine(const float* x, const float* y, const float* dy, float* dx,
                                   int64_t rows, int channels, const float* mean, const float* a,
                                   const float* b, const float* k) {
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c)
      dx[r * channels + c] =
          upstream(y, dy, r * channels + c) * a[c] + (x[r * channels + c] - mean[c]) * b[c] + k[c];
}
}  // namespace cuseg::fast
