#include "cuseg/kernels/fast/batch_norm.h"

#include <cmath>
#include <vector>

#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

namespace {

// mean[c] and m2[c] = Σ (x − mean)² over `rows` rows, in double.
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

// y = (x − mean)·a + b per channel, then max(y, 0) if `relu`. Centred first, as the reference
// does: x·a − mean·a would cancel where |mean| is large against the spread.
CUSEG_ISA_CLONES void normalize(const float* x, float* y, int64_t rows, int channels,
                                const float* mean, const float* a, const float* b, bool relu) {
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) {
      const float v = (x[r * channels + c] - mean[c]) * a[c] + b[c];
      y[r * channels + c] = relu ? (v > 0.f ? v : 0.f) : v;
    }
}

// dy, or dy·[y > 0] where the forward fused a ReLU (y non-null), as activation_backward multiplies.
[[gnu::always_inline]] inline float upstream(const float* y, const float* dy, int64_t i) {
  return y ? dy[i] * (y[i] > 0.f ? 1.f : 0.f) : dy[i];
}

// sum_dy[c] = Σ dy and sum_dy_dev[c] = Σ dy·(x − mean), in double.
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

// dx = dy·a + (x − mean)·b + k per channel.
CUSEG_ISA_CLONES void grad_combine(const float* x, const float* y, const float* dy, float* dx,
                                   int64_t rows, int channels, const float* mean, const float* a,
                                   const float* b, const float* k) {
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c)
      dx[r * channels + c] =
          upstream(y, dy, r * channels + c) * a[c] + (x[r * channels + c] - mean[c]) * b[c] + k[c];
}

}  // namespace

void batch_norm_forward_training(const float* x, const float* gamma, const float* beta, float* y,
                                 float* save_mean, float* save_invstd, float* running_mean,
                                 float* running_var, int64_t rows, int channels, double eps,
                                 double momentum, bool relu) {
  const size_t C = size_t(channels);
  const int64_t chunk = row_chunk(channels);
  const int64_t chunks = chunk_count(rows, chunk);
  std::vector<double> moments(size_t(chunks) * 2 * C);  // per chunk: mean[C], m2[C]
  for_chunks(rows, chunk, [&](int64_t k, int64_t b, int64_t e) {
    double* m = moments.data() + size_t(k) * 2 * C;
    chunk_moments(x + b * channels, e - b, channels, m, m + C);
  });
  std::vector<float> a(C);
  for (size_t c = 0; c < C; ++c) {
    // Merge the chunks in order: n_ab = n_a + n_b, δ = mean_b − mean_a,
    // mean_ab = mean_a + δ·n_b/n_ab, m2_ab = m2_a + m2_b + δ²·n_a·n_b/n_ab.
    double n = 0, mean = 0, m2 = 0;
    for (int64_t k = 0; k < chunks; ++k) {
      const double nb = double(std::min(rows, (k + 1) * chunk) - k * chunk);
      const double* mk = moments.data() + size_t(k) * 2 * C;
      const double delta = mk[c] - mean, nab = n + nb;
      mean += delta * nb / nab;
      m2 += mk[C + c] + delta * delta * n * nb / nab;
      n = nab;
    }
    const double var = m2 / n, invstd = 1.0 / std::sqrt(var + eps);
    save_mean[c] = float(mean);
    save_invstd[c] = float(invstd);
    running_mean[c] = float((1 - momentum) * double(running_mean[c]) + momentum * mean);
    running_var[c] = float((1 - momentum) * double(running_var[c]) + momentum * var * n / (n - 1));
    a[c] = float(double(gamma[c]) * invstd);
  }
  for_chunks(rows, chunk, [&](int64_t, int64_t b, int64_t e) {
    normalize(x + b * channels, y + b * channels, e - b, channels, save_mean, a.data(), beta, relu);
  });
}

void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta,
                                  const float* running_mean, const float* running_var, float* y,
                                  int64_t rows, int channels, double eps, bool relu) {
  std::vector<float> a(static_cast<size_t>(channels));
  for (int c = 0; c < channels; ++c)
    a[size_t(c)] = float(double(gamma[c]) / std::sqrt(double(running_var[c]) + eps));
  for_chunks(rows, row_chunk(channels), [&](int64_t, int64_t b, int64_t e) {
    normalize(x + b * channels, y + b * channels, e - b, channels, running_mean, a.data(), beta,
              relu);
  });
}

void batch_norm_backward(const float* x, const float* y, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, int64_t rows, int channels) {
  const size_t C = size_t(channels);
  const int64_t chunk = row_chunk(channels);
  const int64_t chunks = chunk_count(rows, chunk);
  std::vector<double> sums(size_t(chunks) * 2 * C);  // per chunk: Σ dy [C], Σ dy·(x − mean) [C]
  for_chunks(rows, chunk, [&](int64_t k, int64_t b, int64_t e) {
    double* s = sums.data() + size_t(k) * 2 * C;
    chunk_grad_sums(x + b * channels, y ? y + b * channels : nullptr, dy + b * channels, e - b,
                    channels, save_mean, s, s + C);
  });
  // dx = γ·σ⁻¹·(dy − Σdy/m − x̂·Σ(dy·x̂)/m) with x̂ = (x − μ)·σ⁻¹, regrouped as dy·a + (x − μ)·b + k.
  std::vector<float> a(C), b(C), k(C);
  const double m = double(rows);
  for (size_t c = 0; c < C; ++c) {
    double sum_dy = 0, sum_dy_dev = 0;
    for (int64_t j = 0; j < chunks; ++j) {
      sum_dy += sums[size_t(j) * 2 * C + c];
      sum_dy_dev += sums[size_t(j) * 2 * C + C + c];
    }
    const double invstd = double(save_invstd[c]), gi = double(gamma[c]) * invstd;
    dbeta[c] += float(sum_dy);
    dgamma[c] += float(sum_dy_dev * invstd);
    const double bc = -gi * invstd * invstd * sum_dy_dev / m;
    a[c] = float(gi);
    b[c] = float(bc);
    k[c] = float(-gi * sum_dy / m);
  }
  for_chunks(rows, chunk, [&](int64_t, int64_t s, int64_t e) {
    grad_combine(x + s * channels, y ? y + s * channels : nullptr, dy + s * channels,
                 dx + s * channels, e - s, channels, save_mean, a.data(), b.data(), k.data());
  });
}

}  // namespace cuseg::fast
