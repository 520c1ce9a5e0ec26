// Adaptive average pooling: one thread per output element (forward) or input element (backward,
// gathering from the outputs whose windows hold it: no atomics). Global pooling (P = Q = 1) has
// its own forward: one output per (n, c) sums H·W inputs, which one thread would read serially;
// instead a block of 32 channels × 8 row lanes reads them coalesced and adds the 8 lanes in a fixed
// order, so every run gives the same bits. Window arithmetic comes from kernels/pool_window.h,
// shared with the CPU reference.
#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/adaptive_pool2d.h"
#include "cuseg/kernels/cuda/nhwc_index.cuh"
#include "cuseg/kernels/pool_window.h"
#include "cuseg/kernels/cuda/shared_memory.cuh"

namespace cuseg::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kChannelLanes = 32, kRowLanes = 8;

__global__ void adaptive_forward_kernel(const float* __restrict__ x, float* __restrict__ y, ResizeGeometry g) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.y_size()) return;
  const Index4 e = unflatten(i, g.P, g.Q, g.C);
  const int n = e.n, p = e.a, q = e.b, c = e.c;
  const Span hs = adaptive_input_span(p, g.H, g.P), ws = adaptive_input_span(q, g.W, g.Q);
  float sum = 0.f;
  for (int h = hs.begin; h < hs.end; ++h)
    for (int w = ws.begin; w < ws.end; ++w) sum += __ldg(x + ((int64_t(n) * g.H + h) * g.W + w) * g.C + c);
  y[i] = sum / float((hs.end - hs.begin) * (ws.end - ws.begin));
}

// Grid (⌈C/32⌉, N), block (32, 8): lane (c, r) sums positions r, r + 8, ... of image n's channel c.
__global__ void global_forward_kernel(const float* __restrict__ x, float* __restrict__ y, ResizeGeometry g) {
  CUSEG_SHARED(float, lanes, [kRowLanes][kChannelLanes]);
  const int c = blockIdx.x * kChannelLanes + threadIdx.x;
  const int n = blockIdx.y;
  const int64_t positions = int64_t(g.H) * g.W;
  float acc = 0.f;
  if (c < g.C)
    for (int64_t r = threadIdx.y; r < positions; r += kRowLanes) acc += __ldg(x + (n * positions + r) * g.C + c);
  lanes[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < g.C) {
    float total = 0.f;
    for (int k = 0; k < kRowLanes; ++k) total += lanes[k][threadIdx.x];
    y[int64_t(n) * g.C + c] = total / float(positions);
  }
}

__global__ void adaptive_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, ResizeGeometry g) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.x_size()) return;
  const Index4 e = unflatten(i, g.H, g.W, g.C);
  const int n = e.n, h = e.a, w = e.b, c = e.c;
  const Span ps = adaptive_output_span(h, g.H, g.P), qs = adaptive_output_span(w, g.W, g.Q);
  float acc = 0.f;
  for (int p = ps.begin; p < ps.end; ++p) {
    const Span hs = adaptive_input_span(p, g.H, g.P);
    for (int q = qs.begin; q < qs.end; ++q) {
      const Span ws = adaptive_input_span(q, g.W, g.Q);
      acc += __ldg(dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.C + c) / float((hs.end - hs.begin) * (ws.end - ws.begin));
    }
  }
  dx[i] = acc;
}

}  // namespace

void adaptive_avg_pool2d_forward(const float* x, float* y, const ResizeGeometry& g, int device) {
  if (g.P == 1 && g.Q == 1) {
    const dim3 grid{unsigned((g.C + kChannelLanes - 1) / kChannelLanes), unsigned(g.N)};
    CUSEG_LAUNCH(global_forward_kernel, grid, dim3(kChannelLanes, kRowLanes), 0, stream(device), x, y, g);
    return;
  }
  CUSEG_LAUNCH(adaptive_forward_kernel, grid_1d(g.y_size(), kThreads), kThreads, 0, stream(device), x, y, g);
}

void adaptive_avg_pool2d_backward(const float* dy, float* dx, const ResizeGeometry& g, int device) {
  CUSEG_LAUNCH(adaptive_backward_kernel, grid_1d(g.x_size(), kThreads), kThreads, 0, stream(device), dy, dx, g);
}

}  // namespace cuseg::cuda
