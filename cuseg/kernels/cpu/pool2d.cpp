#include "cuseg/kernels/cpu/pool2d.h"

#include "cuseg/kernels/pool_window.h"

namespace cuseg::cpu {

// Channels are innermost in NHWC, so every loop below keeps the channel loop innermost:
// contiguous reads and writes, one window position at a time.

template <class T>
void max_pool2d_forward(const T* x, T* y, int32_t* argmax, const PoolGeometry& g) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int p = 0; p < g.P; ++p) {
      const Span hs = pool_input_span(p, g.kernel_h, g.stride_h, g.pad_h, g.H);
      for (int q = 0; q < g.Q; ++q) {
        const Span ws = pool_input_span(q, g.kernel_w, g.stride_w, g.pad_w, g.W);
        T* best = y + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        int32_t* best_index = argmax + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        for (int c = 0; c < g.C; ++c) best_index[c] = -1;
        for (int h = hs.begin; h < hs.end; ++h) {
          for (int w = ws.begin; w < ws.end; ++w) {
            const T* in = x + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
            for (int c = 0; c < g.C; ++c) {
              if (best_index[c] < 0 || max_pool_replaces(in[c], best[c])) {
                best[c] = in[c];
                best_index[c] = h * g.W + w;
              }
            }
          }
        }
      }
    }
  }
}

template <class T>
void max_pool2d_backward(const T* dy, const int32_t* argmax, T* dx, const PoolGeometry& g) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int h = 0; h < g.H; ++h) {
      const Span ps = pool_output_span(h, g.kernel_h, g.stride_h, g.pad_h, g.P);
      for (int w = 0; w < g.W; ++w) {
        const Span qs = pool_output_span(w, g.kernel_w, g.stride_w, g.pad_w, g.Q);
        const int32_t self = h * g.W + w;
        T* out = dx + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for (int p = ps.begin; p < ps.end; ++p) {
          for (int q = qs.begin; q < qs.end; ++q) {
            const int64_t o = ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
            for (int c = 0; c < g.C; ++c)
              if (argmax[o + c] == self) out[c] += dy[o + c];
          }
        }
      }
    }
  }
}

template <class T>
void avg_pool2d_forward(const T* x, T* y, const PoolGeometry& g) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int p = 0; p < g.P; ++p) {
      const Span hs = pool_input_span(p, g.kernel_h, g.stride_h, g.pad_h, g.H);
      for (int q = 0; q < g.Q; ++q) {
        const Span ws = pool_input_span(q, g.kernel_w, g.stride_w, g.pad_w, g.W);
        T* out = y + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for (int h = hs.begin; h < hs.end; ++h)
          for (int w = ws.begin; w < ws.end; ++w) {
            const T* in = x + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
            for (int c = 0; c < g.C; ++c) out[c] += in[c];
          }
        const T divisor = T(avg_pool_divisor(g, p, q));
        for (int c = 0; c < g.C; ++c) out[c] /= divisor;
      }
    }
  }
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const PoolGeometry& g) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int h = 0; h < g.H; ++h) {
      const Span ps = pool_output_span(h, g.kernel_h, g.stride_h, g.pad_h, g.P);
      for (int w = 0; w < g.W; ++w) {
        const Span qs = pool_output_span(w, g.kernel_w, g.stride_w, g.pad_w, g.Q);
        T* out = dx + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for (int p = ps.begin; p < ps.end; ++p)
          for (int q = qs.begin; q < qs.end; ++q) {
            const T* grad = dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
            const T divisor = T(avg_pool_divisor(g, p, q));
            for (int c = 0; c < g.C; ++c) out[c] += grad[c] / divisor;
          }
      }
    }
  }
}

#define CUSEG_INSTANTIATE(T)                                                                    \
  template void max_pool2d_forward<T>(const T*, T*, int32_t*, const PoolGeometry&);            \
  template void max_pool2d_backward<T>(const T*, const int32_t*, T*, const PoolGeometry&);     \
  template void avg_pool2d_forward<T>(const T*, T*, const PoolGeometry&);                      \
  template void avg_pool2d_backward<T>(const T*, T*, const PoolGeometry&);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
