// Depthwise convolution, one input channel per group (groups = C, K = m·C with a channel
// multiplier m; m = 1 is MobileNet's and EfficientNet's depthwise), computed directly: a GEMM
// with one channel per group has a reduction of R·S terms and wastes its tiles. Each function
// gives one element (or one term of one sum), so a thread per element computes y and dx with no
// reduction across threads; dw is a deterministic column reduction (column_reduce.cuh) over the
// N·P·Q output pixels. Host and device code (CUSEG_HD): the CPU tests check the index arithmetic
// against the reference without a GPU (tests/kernels/conv_problems_test.cpp).
//
// w is [K, R, S, 1]: tap (r, s) of output channel k is w[(k·R + r)·S + s]. Output channel k reads
// input channel k / m.
#pragma once

#include "cuseg/kernels/cuda/conv_problems.h"

namespace cuseg::cuda {

// Whether the geometry runs the direct depthwise kernels rather than the grouped implicit GEMM.
CUSEG_HD bool is_depthwise(const ConvGeometry& g) { return g.groups > 1 && g.group_c() == 1; }

// y element i = ((n·P + p)·Q + q)·K + k.
CUSEG_HD float depthwise_forward_at(const ConvGeometry& g, const float* x, const float* w, int64_t i) {
  const int k = int(i % g.K);
  const int64_t npq = i / g.K;
  const int q = int(npq % g.Q), p = int(npq / g.Q % g.P), n = int(npq / g.Q / g.P);
  const int c = k / g.group_k();
  float acc = 0.f;
  for (int r = 0; r < g.R; ++r) {
    const int h = p * g.stride_h - g.pad_h + r * g.dil_h;
    if (h < 0 || h >= g.H) continue;
    for (int s = 0; s < g.S; ++s) {
      const int wi = q * g.stride_w - g.pad_w + s * g.dil_w;
      if (wi < 0 || wi >= g.W) continue;
      acc += CUSEG_LOAD(x + ((int64_t(n) * g.H + h) * g.W + wi) * g.C + c) *
             CUSEG_LOAD(w + (int64_t(k) * g.R + r) * g.S + s);
    }
  }
  return acc;
}

// dx element i = ((n·H + h)·W + w)·C + c: over the taps (r, s) whose window puts them on (h, w),
// and the m output channels of c.
CUSEG_HD float depthwise_backward_data_at(const ConvGeometry& g, const float* dy, const float* w,
                                                 int64_t i) {
  const int c = int(i % g.C);
  const int64_t nhw = i / g.C;
  const int wi = int(nhw % g.W), h = int(nhw / g.W % g.H), n = int(nhw / g.W / g.H);
  const int m = g.group_k();
  float acc = 0.f;
  for (int r = 0; r < g.R; ++r) {
    const int ph = h + g.pad_h - r * g.dil_h;
    if (ph < 0 || ph % g.stride_h != 0 || ph / g.stride_h >= g.P) continue;
    for (int s = 0; s < g.S; ++s) {
      const int qw = wi + g.pad_w - s * g.dil_w;
      if (qw < 0 || qw % g.stride_w != 0 || qw / g.stride_w >= g.Q) continue;
      const float* grad = dy + ((int64_t(n) * g.P + ph / g.stride_h) * g.Q + qw / g.stride_w) * g.K;
      for (int j = 0; j < m; ++j) {
        const int k = c * m + j;
        acc += CUSEG_LOAD(grad + k) * CUSEG_LOAD(w + (int64_t(k) * g.R + r) * g.S + s);
      }
    }
  }
  return acc;
}

// The filter gradient as columns: column col = (r·S + s)·K + k (k fastest, so neighbouring
// threads read neighbouring channels), row npq; dw[(k·R + r)·S + s] is the column's sum.
CUSEG_HD float depthwise_filter_term(const ConvGeometry& g, const float* x, const float* dy, int64_t npq,
                                            int col) {
  const int k = col % g.K, rs = col / g.K, s = rs % g.S, r = rs / g.S;
  const int q = int(npq % g.Q), p = int(npq / g.Q % g.P), n = int(npq / g.Q / g.P);
  const int h = p * g.stride_h - g.pad_h + r * g.dil_h;
  const int wi = q * g.stride_w - g.pad_w + s * g.dil_w;
  if (h < 0 || h >= g.H || wi < 0 || wi >= g.W) return 0.f;
  return CUSEG_LOAD(dy + npq * g.K + k) *
         CUSEG_LOAD(x + ((int64_t(n) * g.H + h) * g.W + wi) * g.C + k / g.group_k());
}
CUSEG_HD int64_t depthwise_filter_index(const ConvGeometry& g, int col) {
  const int k = col % g.K, rs = col / g.K;
  return int64_t(k) * g.R * g.S + rs;
}

}  // namespace cuseg::cuda
