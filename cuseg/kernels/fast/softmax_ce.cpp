#include "cuseg/kernels/fast/softmax_ce.h"

#include <cmath>
#include <vector>

#include "cuseg/kernels/fast/exp.h"
#include "cuseg/kernels/fast/parallel.h"
#include "cuseg/kernels/softmax_ce_math.h"

namespace cuseg::fast {

namespace {

// Per row r of a chunk: max[r], e[r·C + c] = exp(x − max) and sum[r] = Σ_c e.
CUSEG_ISA_CLONES void shifted_exponentials(const float* x, int64_t rows, int classes, float* max,
                                           float* e, float* sum) {
  for (int64_t r = 0; r < rows; ++r) {
    float m = x[r * classes];
    for (int c = 1; c < classes; ++c) m = x[r * classes + c] > m ? x[r * classes + c] : m;
    max[r] = m;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < classes; ++c) e[r * classes + c] = x[r * classes + c] - max[r];
  const int64_t n = rows * classes;
  for (int64_t i = 0; i < n; ++i) e[i] = exp_nonpositive(e[i]);
  for (int64_t r = 0; r < rows; ++r) {
    float s = 0.f;
    for (int c = 0; c < classes; ++c) s += e[r * classes + c];
    sum[r] = s;
  }
}

// d = a[r]·e + b[c] over a chunk's rows.
CUSEG_ISA_CLONES void scaled_exponentials(const float* e, const float* a, const float* b,
                                          int64_t rows, int classes, float* d) {
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < classes; ++c) d[r * classes + c] = a[r] * e[r * classes + c] + b[c];
}

// One chunk's rows: the exponentials and each row's max and sum, in buffers the chunk owns.
struct ChunkRows {
  std::vector<float> max, e, sum;
  ChunkRows(const float* x, int64_t rows, int classes)
      : max(size_t(rows)), e(size_t(rows * classes)), sum(size_t(rows)) {
    shifted_exponentials(x, rows, classes, max.data(), e.data(), sum.data());
  }
  double log_sum_exp(int64_t r) const {
    return double(max[size_t(r)]) + std::log(double(sum[size_t(r)]));
  }
};

double weight_of(const float* class_weights, int c) {
  return class_weights ? double(class_weights[c]) : 1.0;
}

}  // namespace

template <class L>
int64_t softmax_cross_entropy_forward(const float* logits, const L* labels,
                                      const float* class_weights, float* loss, float* weight_sum,
                                      const CrossEntropyRows& g) {
  const int C = g.classes;
  const int64_t chunk = row_chunk(C), chunks = chunk_count(g.rows, chunk);
  struct Partial {
    double loss = 0, weight = 0;
    int64_t invalid = 0;
  };
  std::vector<Partial> partial(static_cast<size_t>(chunks));
  const double eps = g.label_smoothing;
  for_chunks(g.rows, chunk, [&](int64_t k, int64_t begin, int64_t end) {
    const ChunkRows rows(logits + begin * C, end - begin, C);
    Partial& p = partial[size_t(k)];
    for (int64_t i = begin; i < end; ++i) {
      const int label = int(labels[i]);
      if (label == g.ignore_index) continue;
      if (label < 0 || label >= C) {
        ++p.invalid;
        continue;
      }
      const float* x = logits + i * C;
      const double lse = rows.log_sum_exp(i - begin), nll = lse - double(x[label]);
      const double weight = weight_of(class_weights, label);
      double smooth = 0;  // Σ_c w[c]·(−log p[c])
      if (eps > 0)
        for (int c = 0; c < C; ++c) smooth += weight_of(class_weights, c) * (lse - double(x[c]));
      p.loss +=
          (1 - eps) * weight * focal_factor(std::exp(-nll), g.focal_gamma) * nll + eps / C * smooth;
      p.weight += weight;
    }
  });
  Partial total;
  for (const Partial& p : partial)
    total.loss += p.loss, total.weight += p.weight, total.invalid += p.invalid;
  *loss = total.weight > 0 ? float(total.loss / total.weight) : 0.f;
  *weight_sum = float(total.weight);
  return total.invalid;
}

template <class L>
void softmax_cross_entropy_backward(const float* logits, const L* labels,
                                    const float* class_weights, const float* weight_sum,
                                    float* dlogits, double loss_grad, const CrossEntropyRows& g) {
  const int C = g.classes;
  const double total = double(*weight_sum), eps = g.label_smoothing, eps_per_class = eps / C;
  double all_weights = 0;  // Σ_c w[c]
  for (int c = 0; c < C; ++c) all_weights += weight_of(class_weights, c);
  // dlogits = inv·[(1 − ε)·w·(p − onehot) + (ε/K)·(p·Σw − w[c])] with p = e/Σe, regrouped per
  // row as a·e + b[c] and the label's −inv·(1 − ε)·w.
  const double inv = total > 0 ? loss_grad / total : 0;
  std::vector<float> b(static_cast<size_t>(C));
  for (int c = 0; c < C; ++c)
    b[size_t(c)] = float(-inv * eps_per_class * weight_of(class_weights, c));
  for_chunks(g.rows, row_chunk(C), [&](int64_t, int64_t begin, int64_t end) {
    const ChunkRows rows(logits + begin * C, end - begin, C);
    std::vector<float> a(size_t(end - begin));
    std::vector<double> label_term(size_t(end - begin));
    for (int64_t i = begin; i < end; ++i) {
      const int label = int(labels[i]);
      const size_t r = size_t(i - begin);
      if (label == g.ignore_index || label < 0 || label >= C || total <= 0)
        continue;  // zeroed below
      const double nll = rows.log_sum_exp(int64_t(r)) - double(logits[i * C + label]);
      const double weight =
          weight_of(class_weights, label) * focal_coefficient(std::exp(-nll), nll, g.focal_gamma);
      a[r] = float(inv * ((1 - eps) * weight + eps_per_class * all_weights) / double(rows.sum[r]));
      label_term[r] = inv * (1 - eps) * weight;
    }
    float* d = dlogits + begin * C;
    scaled_exponentials(rows.e.data(), a.data(), b.data(), end - begin, C, d);
    for (int64_t i = begin; i < end; ++i) {
      const int label = int(labels[i]);
      const size_t r = size_t(i - begin);
      if (label == g.ignore_index || label < 0 || label >= C || total <= 0) {
        for (int c = 0; c < C; ++c) d[r * size_t(C) + size_t(c)] = 0.f;
        continue;
      }
      d[r * size_t(C) + size_t(label)] =
          float(double(d[r * size_t(C) + size_t(label)]) - label_term[r]);
    }
  });
}

#define CUSEG_INSTANTIATE(L)                                                                      \
  template int64_t softmax_cross_entropy_forward<L>(const float*, const L*, const float*, float*, \
                                                    float*, const CrossEntropyRows&);             \
  template void softmax_cross_entropy_backward<L>(const float*, const L*, const float*,           \
                                                  const float*, float*, double,                   \
                                                  const CrossEntropyRows&);
CUSEG_INSTANTIATE(uint8_t)
CUSEG_INSTANTIATE(int32_t)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::fast
