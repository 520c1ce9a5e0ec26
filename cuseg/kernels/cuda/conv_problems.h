// The three convolutions as implicit-GEMM problems for cuda/implicit_gemm.cuh: how to gather
// A(m, kk) and B(kk, n) from NHWC activations and KRSC weights, and where C(m, n) goes. Host and
// device code (CUSEG_HD), so the CPU tests can run a plain GEMM over these same functions and
// check the index arithmetic against the reference without a GPU.
#pragma once

#include "cuseg/core/hd.h"
#include "cuseg/kernels/geometry.h"

// Read-only loads through the texture path on the device, plain loads on the host.
#if defined(__CUDA_ARCH__)
#define CUSEG_LOAD(ptr) __ldg(ptr)
#else
#define CUSEG_LOAD(ptr) (*(ptr))
#endif

namespace cuseg::cuda {

// The im2col matrix of x, never stored: row npq (output pixel n, p, q), column rsc (kernel tap
// r, s and input channel c) holds x[n, p·s−pad+r·d, q·s−pad+s·d, c], or 0 in the padding.
CUSEG_HD float im2col(const ConvGeometry& g, const float* x, int npq, int rsc) {
  const int q = npq % g.Q, np = npq / g.Q, p = np % g.P, n = np / g.P;
  const int c = rsc % g.C, rs = rsc / g.C, s = rs % g.S, r = rs / g.S;
  const int h = p * g.stride_h - g.pad_h + r * g.dil_h;
  const int wi = q * g.stride_w - g.pad_w + s * g.dil_w;
  if (h < 0 || h >= g.H || wi < 0 || wi >= g.W) return 0.f;
  return CUSEG_LOAD(x + ((int64_t(n) * g.H + h) * g.W + wi) * g.C + c);
}

// Forward: y[npq][k] = Σ_{rsc} x[n, p·s−pad+r·d, q·s−pad+s·d, c] · w[k][rsc]
//   M = N·P·Q, N = K, Kd = R·S·C (c fastest: contiguous in NHWC x and in KRSC w).
struct ConvForward {
  int M, N, Kd;
  static constexpr bool kAContiguousInK = true, kBContiguousInK = true;
  ConvGeometry g;
  const float* x;
  const float* w;
  float* y;

  CUSEG_HD float a(int m, int kk) const { return im2col(g, x, m, kk); }
  CUSEG_HD float b(int kk, int n) const { return CUSEG_LOAD(w + int64_t(n) * Kd + kk); }
  CUSEG_HD void store(int m, int n, float v) const { y[int64_t(m) * N + n] = v; }
};

// Backward data: dx[nhw][c] = Σ_{r,s,k} dy[n, p, q, k] · w[k, r, s, c] over the (p, q) whose
// windows put tap (r, s) on (h, w).   M = N·H·W, N = C, Kd = R·S·K (k fastest: contiguous in dy).
struct ConvBackwardData {
  int M, N, Kd;
  static constexpr bool kAContiguousInK = true, kBContiguousInK = false;
  ConvGeometry g;
  const float* dy;
  const float* w;
  float* dx;

  CUSEG_HD float a(int m, int kk) const {
    const int wi = m % g.W, nh = m / g.W, h = nh % g.H, n = nh / g.H;
    const int k = kk % g.K, rs = kk / g.K, s = rs % g.S, r = rs / g.S;
    const int ph = h + g.pad_h - r * g.dil_h, qw = wi + g.pad_w - s * g.dil_w;
    if (ph < 0 || qw < 0 || ph % g.stride_h || qw % g.stride_w) return 0.f;
    const int p = ph / g.stride_h, q = qw / g.stride_w;
    if (p >= g.P || q >= g.Q) return 0.f;
    return CUSEG_LOAD(dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.K + k);
  }
  CUSEG_HD float b(int kk, int c) const {
    const int k = kk % g.K, rs = kk / g.K;
    return CUSEG_LOAD(w + (int64_t(k) * g.R * g.S + rs) * g.C + c);
  }
  CUSEG_HD void store(int m, int n, float v) const { dx[int64_t(m) * N + n] = v; }
};

// Backward filter: dw[k][rsc] += Σ_{npq} dy[npq][k] · x[n, h(p,r), w(q,s), c]
//   M = K, N = R·S·C, Kd = N·P·Q. A is dy transposed (contiguous in k = m).
struct ConvBackwardFilter {
  int M, N, Kd;
  static constexpr bool kAContiguousInK = false, kBContiguousInK = false;
  ConvGeometry g;
  const float* x;
  const float* dy;
  float* dw;

  CUSEG_HD float a(int k, int npq) const { return CUSEG_LOAD(dy + int64_t(npq) * g.K + k); }
  CUSEG_HD float b(int npq, int rsc) const { return im2col(g, x, npq, rsc); }
  CUSEG_HD void store(int m, int n, float v) const { dw[int64_t(m) * N + n] += v; }
};

}  // namespace cuseg::cuda
