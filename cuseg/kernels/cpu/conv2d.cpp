#include "cuseg/kernels/cpu/conv2d.h"

#include <vector>

namespace cuseg::cpu {

// Input row/column for output row/column `o` and kernel tap `r`; may fall outside [0, H).
static inline int input_index(int o, int r, int stride, int pad, int dil) {
  return o * stride - pad + r * dil;
}

template <class T>
void conv2d_forward(const T* x, const T* w, T* y, const ConvGeometry& g) {
  // Weights are re-laid as [group][R, S, C/g, K/g] so the innermost loop runs over contiguous k of
  // one group in both the weights and the output, and vectorizes without reassociating any sum.
  const int cg = g.group_c(), kg = g.group_k(), rsc = g.R * g.S * cg;
  std::vector<T> w_rsck(size_t(g.w_size()));
  for (int k = 0; k < g.K; ++k)
    for (int i = 0; i < rsc; ++i)
      w_rsck[(size_t(k / kg) * rsc + i) * kg + k % kg] = w[int64_t(k) * rsc + i];

#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int p = 0; p < g.P; ++p) {
      for (int q = 0; q < g.Q; ++q) {
        T* out = y + ((int64_t(n) * g.P + p) * g.Q + q) * g.K;
        for (int k = 0; k < g.K; ++k) out[k] = T(0);
        for (int r = 0; r < g.R; ++r) {
          const int h = input_index(p, r, g.stride_h, g.pad_h, g.dil_h);
          if (h < 0 || h >= g.H) continue;
          for (int s = 0; s < g.S; ++s) {
            const int wi = input_index(q, s, g.stride_w, g.pad_w, g.dil_w);
            if (wi < 0 || wi >= g.W) continue;
            for (int grp = 0; grp < g.groups; ++grp) {
              const T* in = x + ((int64_t(n) * g.H + h) * g.W + wi) * g.C + int64_t(grp) * cg;
              const T* taps = w_rsck.data() + (int64_t(grp) * rsc + (int64_t(r) * g.S + s) * cg) * kg;
              T* o = out + int64_t(grp) * kg;
              for (int c = 0; c < cg; ++c) {
                const T v = in[c];
                const T* wk = taps + int64_t(c) * kg;
                for (int k = 0; k < kg; ++k) o[k] += v * wk[k];
              }
            }
          }
        }
      }
    }
  }
}

template <class T>
void conv2d_backward_data(const T* dy, const T* w, T* dx, const ConvGeometry& g) {
  // Gather form: each input pixel collects from the outputs whose windows cover it, so pixels
  // are independent and the loop parallelizes without atomics. Output channel k reaches only the
  // input channels of its group.
  const int cg = g.group_c(), kg = g.group_k();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g.N; ++n) {
    for (int h = 0; h < g.H; ++h) {
      for (int wi = 0; wi < g.W; ++wi) {
        T* out = dx + ((int64_t(n) * g.H + h) * g.W + wi) * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = T(0);
        for (int r = 0; r < g.R; ++r) {
          const int ph = h + g.pad_h - r * g.dil_h;  // = p · stride_h when some p covers h
          if (ph < 0 || ph % g.stride_h != 0 || ph / g.stride_h >= g.P) continue;
          const int p = ph / g.stride_h;
          for (int s = 0; s < g.S; ++s) {
            const int qw = wi + g.pad_w - s * g.dil_w;
            if (qw < 0 || qw % g.stride_w != 0 || qw / g.stride_w >= g.Q) continue;
            const int q = qw / g.stride_w;
            const T* grad = dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.K;
            for (int k = 0; k < g.K; ++k) {
              const T d = grad[k];
              const T* wk = w + ((int64_t(k) * g.R + r) * g.S + s) * cg;
              T* o = out + int64_t(k / kg) * cg;
              for (int c = 0; c < cg; ++c) o[c] += d * wk[c];
            }
          }
        }
      }
    }
  }
}

template <class T>
void conv2d_backward_filter(const T* x, const T* dy, T* dw, const ConvGeometry& g) {
  const int cg = g.group_c(), kg = g.group_k();
#pragma omp parallel for schedule(dynamic)
  for (int k = 0; k < g.K; ++k) {
    const int64_t c0 = int64_t(k / kg) * cg;  // the first input channel of k's group
    std::vector<T> acc(size_t(g.R) * g.S * cg, T(0));
    for (int n = 0; n < g.N; ++n) {
      for (int p = 0; p < g.P; ++p) {
        for (int q = 0; q < g.Q; ++q) {
          const T d = dy[((int64_t(n) * g.P + p) * g.Q + q) * g.K + k];
          for (int r = 0; r < g.R; ++r) {
            const int h = input_index(p, r, g.stride_h, g.pad_h, g.dil_h);
            if (h < 0 || h >= g.H) continue;
            for (int s = 0; s < g.S; ++s) {
              const int wi = input_index(q, s, g.stride_w, g.pad_w, g.dil_w);
              if (wi < 0 || wi >= g.W) continue;
              const T* in = x + ((int64_t(n) * g.H + h) * g.W + wi) * g.C + c0;
              T* a = acc.data() + (int64_t(r) * g.S + s) * cg;
              for (int c = 0; c < cg; ++c) a[c] += d * in[c];
            }
          }
        }
      }
    }
    T* out = dw + int64_t(k) * g.R * g.S * cg;
    for (size_t i = 0; i < acc.size(); ++i) out[i] += acc[i];
  }
}

template <class T>
void conv2d_bias_forward(T* y, const T* b, int64_t rows, int channels) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i)
    for (int c = 0; c < channels; ++c) y[i * channels + c] += b[c];
}

template <class T>
void conv2d_bias_backward(const T* dy, T* db, int64_t rows, int channels) {
  // Summed in double: the sum runs over every pixel of the batch (millions of terms).
  std::vector<double> acc(size_t(channels), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int c = 0; c < channels; ++c) acc[size_t(c)] += double(dy[i * channels + c]);
  for (int c = 0; c < channels; ++c) db[c] += T(acc[size_t(c)]);
}

#define CUSEG_INSTANTIATE(T)                                                            \
  template void conv2d_forward<T>(const T*, const T*, T*, const ConvGeometry&);         \
  template void conv2d_backward_data<T>(const T*, const T*, T*, const ConvGeometry&);   \
  template void conv2d_backward_filter<T>(const T*, const T*, T*, const ConvGeometry&); \
  template void conv2d_bias_forward<T>(T*, const T*, int64_t, int);                     \
  template void conv2d_bias_backward<T>(const T*, T*, int64_t, int);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
