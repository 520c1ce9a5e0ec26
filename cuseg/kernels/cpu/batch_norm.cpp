#include "cuseg/kernels/cpu/batch_norm.h"

#include <cmath>
#include <vector>

namespace cuseg::cpu {

namespace {

// Σ over rows of f(row, c) for every channel, in double.
template <class F>
std::vector<double> column_sums(int64_t rows, int channels, F&& f) {
  std::vector<double> sums(size_t(channels), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) sums[size_t(c)] += f(r, c);
  return sums;
}

}  // namespace

template <class T>
void batch_norm_forward_training(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd,
                                 T* running_mean, T* running_var, int64_t rows, int channels, double eps,
                                 double momentum) {
  const double m = double(rows);
  std::vector<double> mean = column_sums(rows, channels, [&](int64_t r, int c) { return double(x[r * channels + c]); });
  for (double& v : mean) v /= m;
  // Two passes: the variance from the deviations, not from E[x²] − E[x]², which cancels badly.
  std::vector<double> var = column_sums(rows, channels, [&](int64_t r, int c) {
    const double d = double(x[r * channels + c]) - mean[size_t(c)];
    return d * d;
  });
  for (double& v : var) v /= m;
  for (int c = 0; c < channels; ++c) {
    const double invstd = 1.0 / std::sqrt(var[size_t(c)] + eps);
    save_mean[c] = T(mean[size_t(c)]);
    save_invstd[c] = T(invstd);
    running_mean[c] = T((1 - momentum) * double(running_mean[c]) + momentum * mean[size_t(c)]);
    running_var[c] = T((1 - momentum) * double(running_var[c]) + momentum * var[size_t(c)] * m / (m - 1));
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c)
      y[r * channels + c] = (x[r * channels + c] - save_mean[c]) * save_invstd[c] * gamma[c] + beta[c];
}

template <class T>
void batch_norm_forward_inference(const T* x, const T* gamma, const T* beta, const T* running_mean,
                                  const T* running_var, T* y, int64_t rows, int channels, double eps) {
  std::vector<T> invstd(static_cast<size_t>(channels));
  for (int c = 0; c < channels; ++c) invstd[size_t(c)] = T(1.0 / std::sqrt(double(running_var[c]) + eps));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c)
      y[r * channels + c] = (x[r * channels + c] - running_mean[c]) * invstd[size_t(c)] * gamma[c] + beta[c];
}

template <class T>
void batch_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean, const T* save_invstd, T* dx,
                         T* dgamma, T* dbeta, int64_t rows, int channels) {
  auto xhat = [&](int64_t r, int c) { return (double(x[r * channels + c]) - double(save_mean[c])) * double(save_invstd[c]); };
  const std::vector<double> sum_dy = column_sums(rows, channels, [&](int64_t r, int c) { return double(dy[r * channels + c]); });
  const std::vector<double> sum_dy_xhat =
      column_sums(rows, channels, [&](int64_t r, int c) { return double(dy[r * channels + c]) * xhat(r, c); });
  const double m = double(rows);
  for (int c = 0; c < channels; ++c) {
    dbeta[c] += T(sum_dy[size_t(c)]);
    dgamma[c] += T(sum_dy_xhat[size_t(c)]);
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c)
      dx[r * channels + c] =
          T(double(gamma[c]) * double(save_invstd[c]) *
            (double(dy[r * channels + c]) - sum_dy[size_t(c)] / m - xhat(r, c) * sum_dy_xhat[size_t(c)] / m));
}

#define CUSEG_INSTANTIATE(T)                                                                                   \
  template void batch_norm_forward_training<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*, int64_t, int, \
                                               double, double);                                                \
  template void batch_norm_forward_inference<T>(const T*, const T*, const T*, const T*, const T*, T*, int64_t,   \
                                                int, double);                                                   \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
