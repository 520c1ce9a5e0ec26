// Pointwise kernels: one grid-stride loop (map.cuh) over small functors that apply the
// shared element definitions (activation_math.h, dropout_math.h); the float ones take four
// elements at a time with 128-bit accesses where their pointers are 16-byte aligned.
#include "cuseg/core/cuda/runtime.h"
#include "cuseg/kernels/activation_math.h"
#include "cuseg/kernels/cuda/map.cuh"
#include "cuseg/kernels/cuda/pointwise.h"
#include "cuseg/kernels/dropout_math.h"

namespace cuseg::cuda {

namespace {

struct ActivationForwardOp {
  const float* x;
  float* y;
  ActivationKind kind;
  float slope;
  __device__ void operator()(int64_t i) const { y[i] = activation_value(kind, __ldg(x + i), slope); }
  bool quads_aligned() const { return aligned_for_float4(x, y); }
  __device__ void quad(int64_t g) const {
    store_float4(y + 4 * g, each(load_float4(x + 4 * g), [&](float v) { return activation_value(kind, v, slope); }));
  }
};

struct ActivationBackwardOp {
  const float* saved;  // x or y: what the kind's derivative reads
  const float* dy;
  float* dx;
  ActivationKind kind;
  float slope;
  __device__ void operator()(int64_t i) const {
    dx[i] = __ldg(dy + i) * activation_derivative(kind, __ldg(saved + i), slope);
  }
  bool quads_aligned() const { return aligned_for_float4(saved, dy, dx); }
  __device__ void quad(int64_t g) const {
    store_float4(dx + 4 * g, each(load_float4(dy + 4 * g), load_float4(saved + 4 * g), [&](float d, float s) {
                   return d * activation_derivative(kind, s, slope);
                 }));
  }
};

struct AddOp {
  const float* a;
  const float* b;
  float* out;
  __device__ void operator()(int64_t i) const { out[i] = a[i] + b[i]; }
  bool quads_aligned() const { return aligned_for_float4(a, b, out); }
  __device__ void quad(int64_t g) const {
    store_float4(out + 4 * g, each(load_float4(a + 4 * g), load_float4(b + 4 * g), [](float u, float v) { return u + v; }));
  }
};

struct ScaleOp {
  const float* x;
  float alpha;
  float* out;
  __device__ void operator()(int64_t i) const { out[i] = alpha * x[i]; }
  bool quads_aligned() const { return aligned_for_float4(x, out); }
  __device__ void quad(int64_t g) const {
    store_float4(out + 4 * g, each(load_float4(x + 4 * g), [&](float v) { return alpha * v; }));
  }
};

struct AxpyOp {
  float alpha;
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] += alpha * x[i]; }
  bool quads_aligned() const { return aligned_for_float4(x, y); }
  __device__ void quad(int64_t g) const {
    store_float4(y + 4 * g, each(load_float4(y + 4 * g), load_float4(x + 4 * g), [&](float u, float v) { return u + alpha * v; }));
  }
};

// Each thread takes four consecutive elements, so one Philox evaluation serves (about) four.
struct DropoutForwardOp {
  const float* x;
  float* y;
  uint8_t* mask;
  int64_t n;
  double p;
  uint64_t seed, offset;
  float scale;
  __device__ void operator()(int64_t group) const {
    PhiloxCursor stream{seed};
    for (int64_t i = 4 * group; i < min(n, 4 * group + 4); ++i) {
      const bool keep = dropout_keeps(stream, offset, i, p);
      mask[i] = keep;
      y[i] = keep ? __ldg(x + i) * scale : 0.f;
    }
  }
};

struct DropoutBackwardOp {
  const float* dy;
  const uint8_t* mask;
  float* dx;
  float scale;
  __device__ void operator()(int64_t i) const { dx[i] = mask[i] ? __ldg(dy + i) * scale : 0.f; }
};

struct GroupDropoutMaskOp {
  uint8_t* mask;
  double p;
  uint64_t seed, offset;
  __device__ void operator()(int64_t i) const {
    PhiloxCursor stream{seed};
    mask[i] = dropout_keeps(stream, offset, i, p);
  }
};

struct GroupDropoutApplyOp {
  const float* x;
  const uint8_t* mask;
  float* y;
  GroupGeometry g;
  float scale;
  __device__ void operator()(int64_t i) const { y[i] = mask[group_mask_index(g, i)] ? __ldg(x + i) * scale : 0.f; }
};

}  // namespace

void activation_forward(const float* x, float* y, int64_t n, ActivationKind kind, float slope, int device) {
  launch_map(n, device, ActivationForwardOp{x, y, kind, slope});
}

void activation_backward(const float* saved, const float* dy, float* dx, int64_t n, ActivationKind kind, float slope,
                         int device) {
  launch_map(n, device, ActivationBackwardOp{saved, dy, dx, kind, slope});
}

void add(const float* a, const float* b, float* out, int64_t n, int device) { launch_map(n, device, AddOp{a, b, out}); }

void scale(const float* x, float alpha, float* out, int64_t n, int device) {
  launch_map(n, device, ScaleOp{x, alpha, out});
}

void axpy(float alpha, const float* x, float* y, int64_t n, int device) { launch_map(n, device, AxpyOp{alpha, x, y}); }

void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset,
                     int device) {
  launch_map((n + 3) / 4, device, DropoutForwardOp{x, y, mask, n, p, seed, offset, float(dropout_scale(p))});
}

void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p, int device) {
  launch_map(n, device, DropoutBackwardOp{dy, mask, dx, float(dropout_scale(p))});
}

void group_dropout_mask(uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device) {
  launch_map(n, device, GroupDropoutMaskOp{mask, p, seed, offset});
}

void group_dropout_apply(const float* x, const uint8_t* mask, float* y, const GroupGeometry& g, double p,
                         int device) {
  launch_map(g.x_size(), device, GroupDropoutApplyOp{x, mask, y, g, float(dropout_scale(p))});
}

}  // namespace cuseg::cuda
