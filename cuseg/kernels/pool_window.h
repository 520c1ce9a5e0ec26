// Window arithmetic shared by every pooling implementation (host and device), so the CPU
// reference and the CUDA kernels cannot disagree on which inputs a window covers.
#pragma once

#include <cstdint>

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

// The window of output o clipped to the padded input [−pad, size + pad): its length. The whole
// kernel except for ceil mode's last windows, which may hang past the right padding.
CUSEG_HD int pool_padded_length(int o, int kernel, int stride, int pad, int size) {
  const int begin = o * stride - pad;
  const int end = begin + kernel < size + pad ? begin + kernel : size + pad;
  return end - begin;
}

// The divisor of average pooling for output (p, q), as aten's avg_pool2d: the window within the
// padded input (count_include_pad), or within the input.
CUSEG_HD int avg_pool_divisor(const PoolGeometry& g, int p, int q) {
  if (g.count_include_pad)
    return pool_padded_length(p, g.kernel_h, g.stride_h, g.pad_h, g.H) *
           pool_padded_length(q, g.kernel_w, g.stride_w, g.pad_w, g.W);
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

// Adaptive pooling's window of output o along an axis of `in` elements pooled to `out`:
// [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉), PyTorch's start_index and end_index.
CUSEG_HD Span adaptive_input_span(int o, int in, int out) {
  const int64_t begin = int64_t(o) * in / out;
  const int64_t end = ((int64_t(o) + 1) * in + out - 1) / out;
  return {int(begin), int(end)};
}

// The outputs [begin, end) whose adaptive windows hold input i, exactly: o's window starts at or
// before i when o·in < (i + 1)·out, and ends after i when (o + 1)·in > i·out.
CUSEG_HD Span adaptive_output_span(int i, int in, int out) {
  const int64_t begin = int64_t(i) * out / in;
  const int64_t end = ((int64_t(i) + 1) * out + in - 1) / in;
  return {int(begin), int(end < out ? end : out)};
}

// Whether max pooling moves from `best` to the later candidate `v`: strictly greater wins (so
// ties keep the first), and the first NaN wins so that it propagates, as in PyTorch.
template <class T>
CUSEG_HD bool max_pool_replaces(T v, T best) {
  const bool v_nan = v != v, best_nan = best != best;
  return (v > best) || (v_nan && !best_nan);
}

}  // namespace cuseg
