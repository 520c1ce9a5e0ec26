#include "cuseg/kernels/fast/adaptive_pool2d.h"

#include <algorithm>
#include <cstdint>

#include "cuseg/kernels/fast/parallel.h"
#include "cuseg/kernels/pool_window.h"

namespace cuseg::fast {

namespace {

// Channels per block of the forward: a block's accumulators stay in registers / L1, and a
// 1×1 output of a 2048-channel image still splits 8 ways.
constexpr int kChannelBlock = 256;

CUSEG_ISA_CLONES void add_to(const float* in, float* acc, int channels) {
  for (int c = 0; c < channels; ++c) acc[c] += in[c];
}

CUSEG_ISA_CLONES void add_scaled(const float* in, float scale, float* acc, int channels) {
  for (int c = 0; c < channels; ++c) acc[c] += in[c] * scale;
}

CUSEG_ISA_CLONES void scale_to(const float* acc, float scale, float* out, int channels) {
  for (int c = 0; c < channels; ++c) out[c] = acc[c] * scale;
}

}  // namespace

void adaptive_avg_pool2d_forward(const float* x, float* y, const ResizeGeometry& g) {
  const int blocks = (g.C + kChannelBlock - 1) / kChannelBlock;
  // One chunk per (output position, channel block).
  for_chunks(int64_t(g.N) * g.P * g.Q * blocks, 1, [&](int64_t, int64_t k, int64_t) {
    const int b = int(k % blocks);
    const int64_t o = k / blocks;  // (n·P + p)·Q + q
    const int q = int(o % g.Q), p = int(o / g.Q % g.P), n = int(o / (int64_t(g.Q) * g.P));
    const int c0 = b * kChannelBlock, channels = std::min(kChannelBlock, g.C - c0);
    const Span hs = adaptive_input_span(p, g.H, g.P), ws = adaptive_input_span(q, g.W, g.Q);
    alignas(64) float acc[kChannelBlock] = {};
    for (int h = hs.begin; h < hs.end; ++h)
      for (int w = ws.begin; w < ws.end; ++w)
        add_to(x + ((int64_t(n) * g.H + h) * g.W + w) * g.C + c0, acc, channels);
    const float inv_area = 1.f / float((hs.end - hs.begin) * (ws.end - ws.begin));
    scale_to(acc, inv_area, y + o * g.C + c0, channels);
  });
}

void adaptive_avg_pool2d_backward(const float* dy, float* dx, const ResizeGeometry& g) {
  // One chunk per input row (n, h): each input gathers from the outputs that hold it.
  for_chunks(int64_t(g.N) * g.H, 1, [&](int64_t, int64_t row, int64_t) {
    const int n = int(row / g.H), h = int(row % g.H);
    const Span ps = adaptive_output_span(h, g.H, g.P);
    for (int w = 0; w < g.W; ++w) {
      float* out = dx + (row * g.W + w) * g.C;
      std::fill(out, out + g.C, 0.f);
      const Span qs = adaptive_output_span(w, g.W, g.Q);
      for (int p = ps.begin; p < ps.end; ++p) {
        const Span hs = adaptive_input_span(p, g.H, g.P);
        for (int q = qs.begin; q < qs.end; ++q) {
          const Span ws = adaptive_input_span(q, g.W, g.Q);
          const float inv_area = 1.f / float((hs.end - hs.begin) * (ws.end - ws.begin));
          add_scaled(dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.C, inv_area, out, g.C);
        }
      }
    }
  });
}

}  // namespace cuseg::fast
