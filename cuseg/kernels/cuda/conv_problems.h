// The three convolutions as implicit-GEMM problems for cuda/implicit_gemm.cuh: where A(m, kk)
// and B(kk, n) live in NHWC activations and KRSC weights (a_at, b_at: not `valid` where the
// element is a zero of the padding), their values (a, b), and where C(m, n) goes. Host and device code
// (CUSEG_HD), so the CPU tests can run a plain GEMM over these same functions and check the index
// arithmetic against the reference without a GPU.
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

// With groups, each group is its own GEMM of the sizes below (C and K replaced by the group's
// C/g and K/g); the kernel runs one group per grid z slice and passes its index `grp` to every
// gather and store. Group grp reads x's channels [grp·C/g, ...) and w's rows [grp·K/g, ...).

// The im2col matrix of x for one group, never stored: row npq (output pixel n, p, q), column rsc
// (kernel tap r, s and channel c of the group) holds x[n, p·s−pad+r·d, q·s−pad+s·d, grp·C/g + c],
// or 0 in the padding.
// Where an element of A or B is read from, unless it is a zero of the padding. A flag beside the
// pointer, not a null pointer: a null test on a computed address costs the GEMM registers.
struct Gathered {
  const float* p;
  bool valid;
};

CUSEG_HD Gathered im2col_at(const ConvGeometry& g, const float* x, int grp, int npq, int rsc) {
  const int cg = g.group_c();
  const int q = npq % g.Q, np = npq / g.Q, p = np % g.P, n = np / g.P;
  const int c = rsc % cg, rs = rsc / cg, s = rs % g.S, r = rs / g.S;
  const int h = p * g.stride_h - g.pad_h + r * g.dil_h;
  const int wi = q * g.stride_w - g.pad_w + s * g.dil_w;
  if (h < 0 || h >= g.H || wi < 0 || wi >= g.W) return {x, false};
  return {x + ((int64_t(n) * g.H + h) * g.W + wi) * g.C + int64_t(grp) * cg + c, true};
}

CUSEG_HD float load_or_zero(Gathered at) { return at.valid ? CUSEG_LOAD(at.p) : 0.f; }

// a and b from a_at and b_at, for every Problem.
template <class Problem>
struct GatherValues {
  CUSEG_HD float a(int grp, int m, int kk) const {
    return load_or_zero(static_cast<const Problem*>(this)->a_at(grp, m, kk));
  }
  CUSEG_HD float b(int grp, int kk, int n) const {
    return load_or_zero(static_cast<const Problem*>(this)->b_at(grp, kk, n));
  }
};

// Forward: y[npq][grp·K/g + k] = Σ_{rsc} im2col(grp)[npq][rsc] · w[grp·K/g + k][rsc]
//   M = N·P·Q, N = K/g, Kd = R·S·C/g (c fastest: contiguous in NHWC x and in KRSC w).
struct ConvForward : GatherValues<ConvForward> {
  int M, N, Kd, groups;
  static constexpr bool kAContiguousInK = true, kBContiguousInK = true;
  ConvGeometry g;
  const float* x;
  const float* w;
  float* y;

  CUSEG_HD Gathered a_at(int grp, int m, int kk) const { return im2col_at(g, x, grp, m, kk); }
  CUSEG_HD Gathered b_at(int grp, int kk, int n) const { return {w + (int64_t(grp) * N + n) * Kd + kk, true}; }
  CUSEG_HD void store(int grp, int m, int n, float v) const { y[int64_t(m) * g.K + int64_t(grp) * N + n] = v; }
};

// Backward data: dx[nhw][grp·C/g + c] = Σ_{r,s,k} dy[n, p, q, grp·K/g + k] · w[grp·K/g + k, r, s, c]
// over the (p, q) whose windows put tap (r, s) on (h, w).
//   M = N·H·W, N = C/g, Kd = R·S·K/g (k fastest: contiguous in dy).
struct ConvBackwardData : GatherValues<ConvBackwardData> {
  int M, N, Kd, groups;
  static constexpr bool kAContiguousInK = true, kBContiguousInK = false;
  ConvGeometry g;
  const float* dy;
  const float* w;
  float* dx;

  CUSEG_HD Gathered a_at(int grp, int m, int kk) const {
    const int kg = g.group_k();
    const int wi = m % g.W, nh = m / g.W, h = nh % g.H, n = nh / g.H;
    const int k = kk % kg, rs = kk / kg, s = rs % g.S, r = rs / g.S;
    const int ph = h + g.pad_h - r * g.dil_h, qw = wi + g.pad_w - s * g.dil_w;
    if (ph < 0 || qw < 0 || ph % g.stride_h || qw % g.stride_w) return {dy, false};
    const int p = ph / g.stride_h, q = qw / g.stride_w;
    if (p >= g.P || q >= g.Q) return {dy, false};
    return {dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.K + int64_t(grp) * kg + k, true};
  }
  CUSEG_HD Gathered b_at(int grp, int kk, int c) const {
    const int kg = g.group_k();
    const int k = grp * kg + kk % kg, rs = kk / kg;
    return {w + (int64_t(k) * g.R * g.S + rs) * N + c, true};
  }
  CUSEG_HD void store(int grp, int m, int n, float v) const { dx[int64_t(m) * g.C + int64_t(grp) * N + n] = v; }
};

// Backward filter: dw[grp·K/g + k][rsc] += Σ_{npq} dy[npq][grp·K/g + k] · im2col(grp)[npq][rsc]
//   M = K/g, N = R·S·C/g, Kd = N·P·Q. A is dy transposed (contiguous in k = m).
struct ConvBackwardFilter : GatherValues<ConvBackwardFilter> {
  int M, N, Kd, groups;
  static constexpr bool kAContiguousInK = false, kBContiguousInK = false;
  ConvGeometry g;
  const float* x;
  const float* dy;
  float* dw;

  CUSEG_HD Gathered a_at(int grp, int k, int npq) const { return {dy + int64_t(npq) * g.K + int64_t(grp) * M + k, true}; }
  CUSEG_HD Gathered b_at(int grp, int npq, int rsc) const { return im2col_at(g, x, grp, npq, rsc); }
  CUSEG_HD void store(int grp, int m, int n, float v) const { dw[(int64_t(grp) * M + m) * N + n] += v; }
};

// The three problems of a geometry, sized per group.
inline ConvForward forward_problem(const ConvGeometry& g, const float* x, const float* w, float* y) {
  return {{}, g.N * g.P * g.Q, g.group_k(), g.R * g.S * g.group_c(), g.groups, g, x, w, y};
}
inline ConvBackwardData backward_data_problem(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  return {{}, g.N * g.H * g.W, g.group_c(), g.R * g.S * g.group_k(), g.groups, g, dy, w, dx};
}
inline ConvBackwardFilter backward_filter_problem(const ConvGeometry& g, const float* x, const float* dy,
                                                  float* dw) {
  return {{}, g.group_k(), g.R * g.S * g.group_c(), g.N * g.P * g.Q, g.groups, g, x, dy, dw};
}

}  // namespace cuseg::cuda
