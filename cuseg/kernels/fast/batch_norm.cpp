#include "cuseg/kernels/fast/batch_norm.h"

#include <cmath>
#include <vector>

#include "cuseg/kernels/fast/channel_sums.h"
#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {


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
    // The chunks merged in order.
    Moments total;
    for (int64_t k = 0; k < chunks; ++k) {
      const double* mk = moments.data() + size_t(k) * 2 * C;
      total.merge({double(std::min(rows, (k + 1) * chunk) - k * chunk), mk[c], mk[C + c]});
    }
    const double n = total.n, mean = total.mean, var = total.m2 / n, invstd = 1.0 / std::sqrt(var + eps);
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
