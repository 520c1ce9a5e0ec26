#include "cuseg/kernels/cpu/adaptive_pool2d.h"

#include <cstdint>

#include "cuseg/kernels/pool_window.h"

namespace cuseg::cpu {

// Channels innermost, as in cpu/pool2d: one window position at a time, all channels.

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const ResizeGeometry& g) {
#pragma omp parallel for collapse(3) schedule(static)
  for (int n = 0; n < g.N; ++n)
    for (int p = 0; p < g.P; ++p)
      for (int q = 0; q < g.Q; ++q) {
        const Span hs = adaptive_input_span(p, g.H, g.P), ws = adaptive_input_span(q, g.W, g.Q);
        T* out = y + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for (int h = hs.begin; h < hs.end; ++h)
          for (int w = ws.begin; w < ws.end; ++w) {
            const T* in = x + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
            for (int c = 0; c < g.C; ++c) out[c] += in[c];
          }
        const T area = T((hs.end - hs.begin) * (ws.end - ws.begin));
        for (int c = 0; c < g.C; ++c) out[c] /= area;
      }
}

template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const ResizeGeometry& g) {
#pragma omp parallel for collapse(3) schedule(static)
  for (int n = 0; n < g.N; ++n)
    for (int h = 0; h < g.H; ++h)
      for (int w = 0; w < g.W; ++w) {
        const Span ps = adaptive_output_span(h, g.H, g.P), qs = adaptive_output_span(w, g.W, g.Q);
        T* out = dx + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for (int p = ps.begin; p < ps.end; ++p) {
          const Span hs = adaptive_input_span(p, g.H, g.P);
          for (int q = qs.begin; q < qs.end; ++q) {
            const Span ws = adaptive_input_span(q, g.W, g.Q);
            const T area = T((hs.end - hs.begin) * (ws.end - ws.begin));
            const T* grad = dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
            for (int c = 0; c < g.C; ++c) out[c] += grad[c] / area;
          }
        }
      }
}

template void adaptive_avg_pool2d_forward<float>(const float*, float*, const ResizeGeometry&);
template void adaptive_avg_pool2d_forward<double>(const double*, double*, const ResizeGeometry&);
template void adaptive_avg_pool2d_backward<float>(const float*, float*, const ResizeGeometry&);
template void adaptive_avg_pool2d_backward<double>(const double*, double*, const ResizeGeometry&);

}  // namespace cuseg::cpu
