#include "cuseg/kernels/cpu/pool2d.h"

#include "cuseg/kernels/pool_window.h"

namespace cuseg::cpu {

// Channels are innermost in NHWC, so every loop below keeps the channel loop innermost:
// contiguous reads and writes, one window position at a time.

template <class T>
void max_pool2d_forward(const T* x, T* y, int32_t* argmax, const PoolGeometry& g) {
#pragma omp parallel for collapse(3) schedule(static)
  for (int n = 0; n < g.N; ++n)
    for (int p = 0; p < g.P; ++p)
      for (int q = 0; q < g.Q; ++q) {
        T* best = y + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        int32_t* best_index = argmax + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        for (int c = 0; c < g.C; ++c) best_index[c] = -1;
        for_each_window_input(g, p, q, [&](int h, int w) {
          const T* in = x + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
          for (int c = 0; c < g.C; ++c) {
            if (best_index[c] < 0 || max_pool_replaces(in[c], best[c])) {
              best[c] = in[c];
              best_index[c] = h * g.W + w;
            }
          }
        });
      }
}

template <class T>
void max_pool2d_backward(const T* dy, const int32_t* argmax, T* dx, const PoolGeometry& g) {
#pragma omp parallel for collapse(3) schedule(static)
  for (int n = 0; n < g.N; ++n)
    for (int h = 0; h < g.H; ++h)
      for (int w = 0; w < g.W; ++w) {
        T* out = dx + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for_each_covering_output(g, h, w, [&](int p, int q) {
          const int64_t o = ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
          for (int c = 0; c < g.C; ++c)
            if (argmax[o + c] == h * g.W + w) out[c] += dy[o + c];
        });
      }
}

template <class T>
void avg_pool2d_forward(const T* x, T* y, const PoolGeometry& g) {
#pragma omp parallel for collapse(3) schedule(static)
  for (int n = 0; n < g.N; ++n)
    for (int p = 0; p < g.P; ++p)
      for (int q = 0; q < g.Q; ++q) {
        T* out = y + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for_each_window_input(g, p, q, [&](int h, int w) {
          const T* in = x + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
          for (int c = 0; c < g.C; ++c) out[c] += in[c];
        });
        const T divisor = T(avg_pool_divisor(g, p, q));
        for (int c = 0; c < g.C; ++c) out[c] /= divisor;
      }
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const PoolGeometry& g) {
#pragma omp parallel for collapse(3) schedule(static)
  for (int n = 0; n < g.N; ++n)
    for (int h = 0; h < g.H; ++h)
      for (int w = 0; w < g.W; ++w) {
        T* out = dx + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for_each_covering_output(g, h, w, [&](int p, int q) {
          const T* grad = dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
          const T divisor = T(avg_pool_divisor(g, p, q));
          for (int c = 0; c < g.C; ++c) out[c] += grad[c] / divisor;
        });
      }
}

#define CUSEG_INSTANTIATE(T)                                                               \
  template void max_pool2d_forward<T>(const T*, T*, int32_t*, const PoolGeometry&);        \
  template void max_pool2d_backward<T>(const T*, const int32_t*, T*, const PoolGeometry&); \
  template void avg_pool2d_forward<T>(const T*, T*, const PoolGeometry&);                  \
  template void avg_pool2d_backward<T>(const T*, T*, const PoolGeometry&);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
