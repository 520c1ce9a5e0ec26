#include "cuseg/kernels/cpu/upsample.h"

#include <vector>

#include "cuseg/kernels/upsample_math.h"

namespace cuseg::cpu {

template <class T>
void upsample_forward(const T* x, T* y, const ResizeGeometry& g, Interp kind) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int p = 0; p < g.P; ++p) {
      const AxisTaps<T> th = taps<T>(kind, p, g.H, g.P);
      for (int q = 0; q < g.Q; ++q) {
        const AxisTaps<T> tw = taps<T>(kind, q, g.W, g.Q);
        const T* x00 = x + ((int64_t(n) * g.H + th.i0) * g.W + tw.i0) * g.C;
        const T* x01 = x + ((int64_t(n) * g.H + th.i0) * g.W + tw.i1) * g.C;
        const T* x10 = x + ((int64_t(n) * g.H + th.i1) * g.W + tw.i0) * g.C;
        const T* x11 = x + ((int64_t(n) * g.H + th.i1) * g.W + tw.i1) * g.C;
        T* out = y + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
        for (int c = 0; c < g.C; ++c)
          out[c] = th.w0 * (tw.w0 * x00[c] + tw.w1 * x01[c]) + th.w1 * (tw.w0 * x10[c] + tw.w1 * x11[c]);
      }
    }
  }
}

template <class T>
void upsample_backward(const T* dy, T* dx, const ResizeGeometry& g, Interp kind) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int h = 0; h < g.H; ++h) {
      const OutputRange ph = outputs_reading(kind, h, g.H, g.P);
      for (int w = 0; w < g.W; ++w) {
        const OutputRange qw = outputs_reading(kind, w, g.W, g.Q);
        T* out = dx + ((int64_t(n) * g.H + h) * g.W + w) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for (int p = ph.begin; p < ph.end; ++p) {
          const T wh = tap_weight(taps<T>(kind, p, g.H, g.P), h);
          if (wh == T(0)) continue;
          for (int q = qw.begin; q < qw.end; ++q) {
            const T ww = tap_weight(taps<T>(kind, q, g.W, g.Q), w);
            if (ww == T(0)) continue;
            const T* grad = dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.C;
            for (int c = 0; c < g.C; ++c) out[c] += wh * ww * grad[c];
          }
        }
      }
    }
  }
}

template void upsample_forward<float>(const float*, float*, const ResizeGeometry&, Interp);
template void upsample_forward<double>(const double*, double*, const ResizeGeometry&, Interp);
template void upsample_backward<float>(const float*, float*, const ResizeGeometry&, Interp);
template void upsample_backward<double>(const double*, double*, const ResizeGeometry&, Interp);

}  // namespace cuseg::cpu
