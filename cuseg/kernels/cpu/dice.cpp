#include "cuseg/kernels/cpu/dice.h"

#include <cmath>
#include <vector>

#include "cuseg/kernels/dice_math.h"

namespace cuseg::cpu {

namespace {

// The softmax of one row into p (double).
template <class T>
void row_softmax(const T* x, int channels, std::vector<double>& p) {
  double m = double(x[0]);
  for (int c = 1; c < channels; ++c) m = std::max(m, double(x[c]));
  double sum = 0;
  for (int c = 0; c < channels; ++c) sum += (p[size_t(c)] = std::exp(double(x[c]) - m));
  for (int c = 0; c < channels; ++c) p[size_t(c)] /= sum;
}

}  // namespace

template <class T, class L>
int64_t dice_forward(const T* logits, const L* labels, T* loss, T* stats, const RowGeometry& g, double smooth,
                     int ignore_index) {
  const int k = g.channels;
  const size_t classes = static_cast<size_t>(k);
  std::vector<double> inter(classes, 0.0), total(classes, 0.0), p(classes);
  int64_t invalid = 0;
  for (int64_t i = 0; i < g.rows; ++i) {
    const int label = int(labels[i]);
    if (label == ignore_index) continue;
    if (label < 0 || label >= k) {
      ++invalid;
      continue;
    }
    row_softmax(logits + i * k, k, p);
    for (int c = 0; c < k; ++c) total[size_t(c)] += p[size_t(c)];
    inter[size_t(label)] += p[size_t(label)];
    total[size_t(label)] += 1;
  }
  for (int c = 0; c < k; ++c) {
    stats[c] = T(inter[size_t(c)]);
    stats[k + c] = T(total[size_t(c)]);
  }
  *loss = T(dice_loss_from_sums(inter.data(), total.data(), k, smooth));
  return invalid;
}

template <class T, class L>
void dice_backward(const T* logits, const L* labels, const T* stats, T* dlogits, double loss_grad,
                   const RowGeometry& g, double smooth, int ignore_index) {
  const int k = g.channels;
#pragma omp parallel
  {
    const size_t classes = static_cast<size_t>(k);
    std::vector<double> p(classes), grad(classes);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < g.rows; ++i) {
      T* d = dlogits + i * k;
      const int label = int(labels[i]);
      if (label == ignore_index || label < 0 || label >= k) {
        for (int c = 0; c < k; ++c) d[c] = T(0);
        continue;
      }
      row_softmax(logits + i * k, k, p);
      double dot = 0;
      for (int c = 0; c < k; ++c) {
        const double a = 2 * double(stats[c]) + smooth, b = double(stats[k + c]) + smooth;
        grad[size_t(c)] = -loss_grad / k * (2 * (c == label ? 1.0 : 0.0) * b - a) / (b * b);  // ∂loss/∂p_c
        dot += p[size_t(c)] * grad[size_t(c)];
      }
      for (int c = 0; c < k; ++c) d[c] = T(p[size_t(c)] * (grad[size_t(c)] - dot));
    }
  }
}

#define CUSEG_INSTANTIATE(T, L)                                                                                    \
  template int64_t dice_forward<T, L>(const T*, const L*, T*, T*, const RowGeometry&, double, int);                \
  template void dice_backward<T, L>(const T*, const L*, const T*, T*, double, const RowGeometry&, double, int);
CUSEG_INSTANTIATE(float, uint8_t)
CUSEG_INSTANTIATE(float, int32_t)
CUSEG_INSTANTIATE(double, uint8_t)
CUSEG_INSTANTIATE(double, int32_t)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
