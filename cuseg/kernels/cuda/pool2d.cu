// One thread per output element (forward) or per input element (backward, gathering from the
// outputs that cover it: no atomics, deterministic). Channels are innermost in NHWC, so
// consecutive threads touch consecutive addresses. Window arithmetic comes from
// kernels/pool_window.h, shared with the CPU reference.
#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/nhwc_index.cuh"
#include "cuseg/kernels/cuda/pool2d.h"
#include "cuseg/kernels/pool_window.h"

namespace cuseg::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void max_pool_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                        int32_t* __restrict__ argmax, PoolGeometry g) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.y_size()) return;
  const Index4 o = unflatten(i, g.P, g.Q, g.C);
  float best = 0.f;
  int32_t best_index = -1;
  for_each_window_input(g, o.a, o.b, [&](int h, int w) {
    const float v = __ldg(x + ((int64_t(o.n) * g.H + h) * g.W + w) * g.C + o.c);
    if (best_index < 0 || max_pool_replaces(v, best)) {
      best = v;
      best_index = h * g.W + w;
    }
  });
  y[i] = best;
  argmax[i] = best_index;
}

__global__ void max_pool_backward_kernel(const float* __restrict__ dy,
                                         const int32_t* __restrict__ argmax, float* __restrict__ dx,
                                         PoolGeometry g) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.x_size()) return;
  const Index4 xi = unflatten(i, g.H, g.W, g.C);
  float acc = 0.f;
  for_each_covering_output(g, xi.a, xi.b, [&](int p, int q) {
    const int64_t o = ((int64_t(xi.n) * g.P + p) * g.Q + q) * g.C + xi.c;
    if (__ldg(argmax + o) == xi.a * g.W + xi.b) acc += __ldg(dy + o);
  });
  dx[i] = acc;
}

__global__ void avg_pool_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                        PoolGeometry g) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.y_size()) return;
  const Index4 o = unflatten(i, g.P, g.Q, g.C);
  float sum = 0.f;
  for_each_window_input(g, o.a, o.b, [&](int h, int w) {
    sum += __ldg(x + ((int64_t(o.n) * g.H + h) * g.W + w) * g.C + o.c);
  });
  y[i] = sum / float(avg_pool_divisor(g, o.a, o.b));
}

__global__ void avg_pool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx,
                                         PoolGeometry g) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.x_size()) return;
  const Index4 xi = unflatten(i, g.H, g.W, g.C);
  float acc = 0.f;
  for_each_covering_output(g, xi.a, xi.b, [&](int p, int q) {
    acc += __ldg(dy + ((int64_t(xi.n) * g.P + p) * g.Q + q) * g.C + xi.c) /
           float(avg_pool_divisor(g, p, q));
  });
  dx[i] = acc;
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeometry& g,
                        int device) {
  CUSEG_LAUNCH(max_pool_forward_kernel, grid_1d(g.y_size(), kThreads), kThreads, 0, stream(device),
               x, y, argmax, g);
}

void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeometry& g,
                         int device) {
  CUSEG_LAUNCH(max_pool_backward_kernel, grid_1d(g.x_size(), kThreads), kThreads, 0, stream(device),
               dy, argmax, dx, g);
}

void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, int device) {
  CUSEG_LAUNCH(avg_pool_forward_kernel, grid_1d(g.y_size(), kThreads), kThreads, 0, stream(device),
               x, y, g);
}

void avg_pool2d_backward(const float* dy, float* dx, const PoolGeometry& g, int device) {
  CUSEG_LAUNCH(avg_pool_backward_kernel, grid_1d(g.x_size(), kThreads), kThreads, 0, stream(device),
               dy, dx, g);
}

}  // namespace cuseg::cuda
