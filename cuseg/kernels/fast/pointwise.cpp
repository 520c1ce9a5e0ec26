#include "cuseg/kernels/fast/pointwise.h"

#include "cuseg/kernels/fast/exp.h"
#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

namespace {

// ReLU on its own: slope·x would turn −∞ into NaN where the reference gives 0.
CUSEG_ISA_CLONES void relu_forward_chunk(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

CUSEG_ISA_CLONES void leaky_relu_forward_chunk(const float* x, float* y, int64_t n, float slope) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : slope * x[i];
}

// dy times the derivative, as the reference multiplies: a NaN in dy stays NaN where y ≤ 0.
CUSEG_ISA_CLONES void leaky_relu_backward_chunk(const float* y, const float* dy, float* dx,
                                                int64_t n, float slope) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (y[i] > 0.f ? 1.f : slope);
}

// σ(v) and 1 − σ(v) from one e^−|v|, as activation_math.h's sigmoid_pair, written so it vectorizes.
// Below −87, where exp.h's polynomial stops, e^−|v| is 0 (in float it is a subnormal or 0 there):
// so SiLU's limits are the reference's, ±∞ included (NaN where ∞·0 arises, as in PyTorch).
[[gnu::always_inline]] inline void sigmoid_pair(float v, float& s, float& one_minus_s) {
  const float m = v < 0.f ? v : -v;
  const float e = m < -87.f ? 0.f : exp_nonpositive(m);  // NaN: not below −87, and stays NaN
  const float large = 1.f / (1.f + e), small = e * large;
  s = v < 0.f ? small : large;
  one_minus_s = v < 0.f ? large : small;
}

CUSEG_ISA_CLONES void silu_forward_chunk(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float s, one_minus_s;
    sigmoid_pair(x[i], s, one_minus_s);
    y[i] = x[i] * s;
  }
}

CUSEG_ISA_CLONES void silu_backward_chunk(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float s, one_minus_s;
    sigmoid_pair(x[i], s, one_minus_s);
    dx[i] = dy[i] * (s * (1.f + x[i] * one_minus_s));
  }
}

}  // namespace

void leaky_relu_forward(const float* x, float* y, int64_t n, float slope) {
  for_chunks(n, kFlatChunk, [&](int64_t, int64_t b, int64_t e) {
    if (slope == 0.f)
      relu_forward_chunk(x + b, y + b, e - b);
    else
      leaky_relu_forward_chunk(x + b, y + b, e - b, slope);
  });
}

void leaky_relu_backward(const float* y, const float* dy, float* dx, int64_t n, float slope) {
  for_chunks(n, kFlatChunk, [&](int64_t, int64_t b, int64_t e) {
    leaky_relu_backward_chunk(y + b, dy + b, dx + b, e - b, slope);
  });
}

void silu_forward(const float* x, float* y, int64_t n) {
  for_chunks(n, kFlatChunk, [&](int64_t, int64_t b, int64_t e) { silu_forward_chunk(x + b, y + b, e - b); });
}

void silu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  for_chunks(n, kFlatChunk, [&](int64_t, int64_t b, int64_t e) { silu_backward_chunk(x + b, dy + b, dx + b, e - b); });
}

}  // namespace cuseg::fast
