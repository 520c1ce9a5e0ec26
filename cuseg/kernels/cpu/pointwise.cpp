#include "cuseg/kernels/cpu/pointwise.h"

#include "cuseg/kernels/activation_math.h"
#include "cuseg/kernels/dropout_math.h"

namespace cuseg::cpu {

namespace {

// Calls f(std::integral_constant<ActivationKind, kind>): one loop per kind, so the kind's switch
// folds away and the loop vectorizes.
template <class F>
void with_kind(ActivationKind kind, F&& f) {
  switch (kind) {
    case ActivationKind::Relu: return f(std::integral_constant<ActivationKind, ActivationKind::Relu>{});
    case ActivationKind::LeakyRelu: return f(std::integral_constant<ActivationKind, ActivationKind::LeakyRelu>{});
    case ActivationKind::Sigmoid: return f(std::integral_constant<ActivationKind, ActivationKind::Sigmoid>{});
    case ActivationKind::Tanh: return f(std::integral_constant<ActivationKind, ActivationKind::Tanh>{});
    case ActivationKind::Relu6: return f(std::integral_constant<ActivationKind, ActivationKind::Relu6>{});
    case ActivationKind::Silu: return f(std::integral_constant<ActivationKind, ActivationKind::Silu>{});
  }
}

}  // namespace

template <class T>
void activation_forward(const T* x, T* y, int64_t n, ActivationKind kind, T slope) {
  with_kind(kind, [&](auto k) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = activation_value(k.value, x[i], slope);
  });
}

template <class T>
void activation_backward(const T* saved, const T* dy, T* dx, int64_t n, ActivationKind kind, T slope) {
  with_kind(kind, [&](auto k) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * activation_derivative(k.value, saved[i], slope);
  });
}

template <class T>
void add(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

template <class T>
void scale(const T* x, T alpha, T* out, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = alpha * x[i];
}

template <class T>
void axpy(T alpha, const T* x, T* y, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <class T>
void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset) {
  const T s = T(dropout_scale(p));
#pragma omp parallel
  {
    PhiloxCursor stream{seed};
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const bool keep = dropout_keeps(stream, offset, i, p);
      mask[i] = keep;
      y[i] = keep ? x[i] * s : T(0);
    }
  }
}

template <class T>
void dropout_backward(const T* dy, const uint8_t* mask, T* dx, int64_t n, double p) {
  const T s = T(dropout_scale(p));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = mask[i] ? dy[i] * s : T(0);
}

void group_dropout_mask(uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset) {
  PhiloxCursor stream{seed};
  for (int64_t i = 0; i < n; ++i) mask[i] = dropout_keeps(stream, offset, i, p);
}

template <class T>
void group_dropout_apply(const T* x, const uint8_t* mask, T* y, const GroupGeometry& g, double p) {
  const T s = T(dropout_scale(p));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.x_size(); ++i) y[i] = mask[group_mask_index(g, i)] ? x[i] * s : T(0);
}

#define CUSEG_INSTANTIATE(T)                                                                          \
  template void activation_forward<T>(const T*, T*, int64_t, ActivationKind, T);                      \
  template void activation_backward<T>(const T*, const T*, T*, int64_t, ActivationKind, T);           \
  template void add<T>(const T*, const T*, T*, int64_t);                                              \
  template void scale<T>(const T*, T, T*, int64_t);                                                   \
  template void axpy<T>(T, const T*, T*, int64_t);                                                    \
  template void dropout_forward<T>(const T*, T*, uint8_t*, int64_t, double, uint64_t, uint64_t);     \
  template void dropout_backward<T>(const T*, const uint8_t*, T*, int64_t, double);                  \
  template void group_dropout_apply<T>(const T*, const uint8_t*, T*, const GroupGeometry&, double);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
