#include "cuseg/kernels/cpu/group_norm.h"

#include <cmath>
#include <vector>

namespace cuseg::cpu {

namespace {

// Calls f(i, c) for the flat index i and channel c of every element of group (n, k), in memory
// order.
template <class F>
void for_group(const GroupGeometry& g, int n, int k, F&& f) {
  const int cg = g.group_channels();
  for (int64_t p = 0; p < g.HW; ++p) {
    const int64_t row = (int64_t(n) * g.HW + p) * g.C;
    for (int c = k * cg; c < (k + 1) * cg; ++c) f(row + c, c);
  }
}

}  // namespace

template <class T>
void group_norm_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                        T* save_invstd, const GroupGeometry& g, double eps) {
  const double m = double(g.group_size());
#pragma omp parallel for schedule(static)
  for (int ng = 0; ng < g.N * g.G; ++ng) {
    const int n = ng / g.G, k = ng % g.G;
    double sum = 0;
    for_group(g, n, k, [&](int64_t i, int) { sum += double(x[i]); });
    const double mean = sum / m;
    // Two passes: the variance from the deviations, not from E[x²] − E[x]², which cancels badly.
    double squares = 0;
    for_group(g, n, k,
              [&](int64_t i, int) { squares += (double(x[i]) - mean) * (double(x[i]) - mean); });
    const double invstd = 1.0 / std::sqrt(squares / m + eps);
    save_mean[ng] = T(mean);
    save_invstd[ng] = T(invstd);
    for_group(g, n, k, [&](int64_t i, int c) {
      y[i] = T((double(x[i]) - mean) * invstd * double(gamma[c]) + double(beta[c]));
    });
  }
}

template <class T>
void group_norm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                         const T* save_invstd, T* dx, T* dgamma, T* dbeta, const GroupGeometry& g) {
  const double m = double(g.group_size());
  // Per sample and channel Σdy and Σdy·x̂, added over the samples in order afterwards: the same
  // result for any number of threads.
  std::vector<double> sum_dy(size_t(g.N) * size_t(g.C), 0.0), sum_dy_xhat(sum_dy.size(), 0.0);
#pragma omp parallel for schedule(static)
  for (int ng = 0; ng < g.N * g.G; ++ng) {
    const int n = ng / g.G, k = ng % g.G;
    const double mean = double(save_mean[ng]), invstd = double(save_invstd[ng]);
    auto xhat = [&](int64_t i) { return (double(x[i]) - mean) * invstd; };
    double sum_g = 0, sum_g_xhat = 0;  // of g = γ·dy over the group
    for_group(g, n, k, [&](int64_t i, int c) {
      const double d = double(dy[i]), gd = double(gamma[c]) * d;
      sum_g += gd;
      sum_g_xhat += gd * xhat(i);
      sum_dy[size_t(n) * size_t(g.C) + size_t(c)] += d;
      sum_dy_xhat[size_t(n) * size_t(g.C) + size_t(c)] += d * xhat(i);
    });
    for_group(g, n, k, [&](int64_t i, int c) {
      dx[i] = T(invstd * (double(gamma[c]) * double(dy[i]) - sum_g / m - xhat(i) * sum_g_xhat / m));
    });
  }
  for (int c = 0; c < g.C; ++c) {
    double db = 0, dg = 0;
    for (int n = 0; n < g.N; ++n) {
      db += sum_dy[size_t(n) * size_t(g.C) + size_t(c)];
      dg += sum_dy_xhat[size_t(n) * size_t(g.C) + size_t(c)];
    }
    dbeta[c] += T(db);
    dgamma[c] += T(dg);
  }
}

#define CUSEG_INSTANTIATE(T)                                                                     \
  template void group_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*,                  \
                                      const GroupGeometry&, double);                             \
  template void group_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, \
                                       T*, const GroupGeometry&);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
