// Window arithmetic shared by every pooling implementation (host and device), so the CPU
// reference and the CUDA kernels cannot disagree on which inputs a window covers.
#pragma once

#include "cuseg/core/hd.h"
#include "cuseg/kernels/geometry.h"

namespace cuseg {

// Rows [begin, end) of the input covered by output row `o`, clipped to [0, size).
struct Span {
  int begin, end;
};

CUSEG_HD Span pool_input_span(int o, int kernel, int stride, int pad, int size) {
  int begin = o * stride - pad;
  int end = begin + kernel;
  return {begin < 0 ? 0 : begin, end > size ? size : end};
}

// Output rows [begin, end) whose windows cover input row `i`.
CUSEG_HD Span pool_output_span(int i, int kernel, int stride, int pad, int out_size) {
  // o covers i when o·stride − pad ≤ i ≤ o·stride − pad + kernel − 1.
  int lo = i + pad - kernel + 1;
  int begin = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  int end = (i + pad) / stride + 1;
  return {begin, end > out_size ? out_size : end};
}

// The divisor of average pooling for output (p, q).
CUSEG_HD int avg_pool_divisor(const PoolGeometry& g, int p, int q) {
  if (g.count_include_pad)
    return g.kernel_h * g.kernel_w;  // padding ≤ kernel/2: windows never pass H + pad
  Span hs = pool_input_span(p, g.kernel_h, g.stride_h, g.pad_h, g.H);
  Span ws = pool_input_span(q, g.kernel_w, g.stride_w, g.pad_w, g.W);
  return (hs.end - hs.begin) * (ws.end - ws.begin);
}

// f(h, w) for every in-bounds input position in the window of output (p, q), row-major.
template <class F>
CUSEG_HD void for_each_window_input(const PoolGeometry& g, int p, int q, F&& f) {
  const Span hs = pool_input_span(p, g.kernel_h, g.stride_h, g.pad_h, g.H);
  const Span ws = pool_input_span(q, g.kernel_w, g.stride_w, g.pad_w, g.W);
  for (int h = hs.begin; h < hs.end; ++h)
    for (int w = ws.begin; w < ws.end; ++w) f(h, w);
}

// f(p, q) for every output whose window covers input (h, w): the gather form of backward.
template <class F>
CUSEG_HD void for_each_covering_output(const PoolGeometry& g, int h, int w, F&& f) {
  const Span ps = pool_output_span(h, g.kernel_h, g.stride_h, g.pad_h, g.P);
  const Span qs = pool_output_span(w, g.kernel_w, g.stride_w, g.pad_w, g.Q);
  for (int p = ps.begin; p < ps.end; ++p)
    for (int q = qs.begin; q < qs.end; ++q) f(p, q);
}

// Whether max pooling moves from `best` to the later candidate `v`: strictly greater wins (so
// ties keep the first), and the first NaN wins so that it propagates, as in PyTorch.
template <class T>
CUSEG_HD bool max_pool_replaces(T v, T best) {
  const bool v_nan = v != v, best_nan = best != best;
  return (v > best) || (v_nan && !best_nan);
}

}  // namespace cuseg
