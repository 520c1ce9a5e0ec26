#include "cuseg/kernels/cpu/softmax.h"

#include <cmath>

#include "cuseg/kernels/softmax_ce_math.h"

namespace cuseg::cpu {

namespace {

// max and log Σ exp(x − max) of one row: the max shift keeps exp from overflowing for logits
// of any magnitude.
template <class T>
void row_max_logsumexp(const T* x, int channels, T& max_out, T& log_sum_out) {
  T m = x[0];
  for (int c = 1; c < channels; ++c) m = x[c] > m ? x[c] : m;
  T sum = T(0);
  for (int c = 0; c < channels; ++c) sum += std::exp(x[c] - m);
  max_out = m;
  log_sum_out = std::log(sum);
}

}  // namespace

template <class T>
void softmax_forward(const T* x, T* y, const RowGeometry& g) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.rows; ++i) {
    const T* in = x + i * g.channels;
    T* out = y + i * g.channels;
    T m = in[0];
    for (int c = 1; c < g.channels; ++c) m = in[c] > m ? in[c] : m;
    T sum = T(0);
    for (int c = 0; c < g.channels; ++c) sum += (out[c] = std::exp(in[c] - m));
    const T inverse = T(1) / sum;
    for (int c = 0; c < g.channels; ++c) out[c] *= inverse;
  }
}

template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, const RowGeometry& g) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.rows; ++i) {
    const int64_t o = i * g.channels;
    T dot = T(0);
    for (int c = 0; c < g.channels; ++c) dot += dy[o + c] * y[o + c];
    for (int c = 0; c < g.channels; ++c) dx[o + c] = y[o + c] * (dy[o + c] - dot);
  }
}

template <class T>
void log_softmax_forward(const T* x, T* y, const RowGeometry& g) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.rows; ++i) {
    const T* in = x + i * g.channels;
    T* out = y + i * g.channels;
    T m, log_sum;
    row_max_logsumexp(in, g.channels, m, log_sum);
    for (int c = 0; c < g.channels; ++c) out[c] = in[c] - m - log_sum;
  }
}

template <class T>
void log_softmax_backward(const T* y, const T* dy, T* dx, const RowGeometry& g) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.rows; ++i) {
    const int64_t o = i * g.channels;
    T sum = T(0);
    for (int c = 0; c < g.channels; ++c) sum += dy[o + c];
    for (int c = 0; c < g.channels; ++c) dx[o + c] = dy[o + c] - std::exp(y[o + c]) * sum;
  }
}

template <class T, class L>
int64_t softmax_cross_entropy_forward(const T* logits, const L* labels, const T* class_weights,
                                      T* loss, T* weight_sum, const RowGeometry& g,
                                      int ignore_index, double label_smoothing, double focal_gamma) {
  // Sums in double: they run over every pixel of the batch.
  double loss_acc = 0.0, weight_acc = 0.0;
  int64_t invalid = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss_acc, weight_acc, invalid)
  for (int64_t i = 0; i < g.rows; ++i) {
    const int label = int(labels[i]);
    if (label == ignore_index) continue;
    if (label < 0 || label >= g.channels) {
      ++invalid;
      continue;
    }
    const T* x = logits + i * g.channels;
    T m, log_sum;
    row_max_logsumexp(x, g.channels, m, log_sum);
    const double weight = class_weights ? double(class_weights[label]) : 1.0;
    const double lse = double(m) + double(log_sum);
    double smooth = 0;  // Σ_c w[c]·(−log p[c])
    if (label_smoothing > 0)
      for (int c = 0; c < g.channels; ++c) smooth += (class_weights ? double(class_weights[c]) : 1.0) * (lse - double(x[c]));
    const double nll = lse - double(x[label]);
    loss_acc += (1 - label_smoothing) * weight * focal_factor(std::exp(-nll), focal_gamma) * nll +
                label_smoothing / g.channels * smooth;
    weight_acc += weight;
  }
  *loss = weight_acc > 0 ? T(loss_acc / weight_acc) : T(0);
  *weight_sum = T(weight_acc);
  return invalid;
}

template <class T, class L>
void softmax_cross_entropy_backward(const T* logits, const L* labels, const T* class_weights,
                                    const T* weight_sum, T* dlogits, double loss_grad,
                                    const RowGeometry& g, int ignore_index, double label_smoothing,
                                    double focal_gamma) {
  const double total = double(*weight_sum);
  double all_weights = g.channels;  // Σ_c w[c]
  if (class_weights) {
    all_weights = 0;
    for (int c = 0; c < g.channels; ++c) all_weights += double(class_weights[c]);
  }
  const double eps = label_smoothing, eps_per_class = label_smoothing / g.channels;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.rows; ++i) {
    const int label = int(labels[i]);
    T* d = dlogits + i * g.channels;
    if (label == ignore_index || label < 0 || label >= g.channels || total <= 0) {
      for (int c = 0; c < g.channels; ++c) d[c] = T(0);
      continue;
    }
    const T* x = logits + i * g.channels;
    T m, log_sum;
    row_max_logsumexp(x, g.channels, m, log_sum);
    const double nll = double(m) + double(log_sum) - double(x[label]);
    const double weight = (class_weights ? double(class_weights[label]) : 1.0) *
                          focal_coefficient(std::exp(-nll), nll, focal_gamma);
    const double inv = loss_grad / total;
    for (int c = 0; c < g.channels; ++c) {
      const double prob = std::exp(double(x[c]) - double(m) - double(log_sum));
      const double wc = class_weights ? double(class_weights[c]) : 1.0;
      d[c] = T(inv * ((1 - eps) * weight * (c == label ? prob - 1 : prob) + eps_per_class * (prob * all_weights - wc)));
    }
  }
}

#define CUSEG_INSTANTIATE_CE(T, L)                                                               \
  template int64_t softmax_cross_entropy_forward<T, L>(const T*, const L*, const T*, T*, T*,     \
                                                       const RowGeometry&, int, double, double); \
  template void softmax_cross_entropy_backward<T, L>(const T*, const L*, const T*, const T*, T*, \
                                                     double, const RowGeometry&, int, double, double);
#define CUSEG_INSTANTIATE(T)                                                         \
  template void softmax_forward<T>(const T*, T*, const RowGeometry&);                \
  template void softmax_backward<T>(const T*, const T*, T*, const RowGeometry&);     \
  template void log_softmax_forward<T>(const T*, T*, const RowGeometry&);            \
  template void log_softmax_backward<T>(const T*, const T*, T*, const RowGeometry&); \
  CUSEG_INSTANTIATE_CE(T, uint8_t)                                                   \
  CUSEG_INSTANTIATE_CE(T, int32_t)
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE
#undef CUSEG_INSTANTIATE_CE

}  // namespace cuseg::cpu
