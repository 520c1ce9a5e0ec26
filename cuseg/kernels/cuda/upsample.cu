// One thread per output element (forward) or input element (backward, gathering through the
// shared tap arithmetic of upsample_math.h). Channels innermost: consecutive threads, consecutive
// addresses.
#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/nhwc_index.cuh"
#include "cuseg/kernels/cuda/upsample.h"
#include "cuseg/kernels/upsample_math.h"

namespace cuseg::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void upsample_forward_kernel(const float* __restrict__ x, float* __restrict__ y, ResizeGeometry g,
                                        Interp kind) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.y_size()) return;
  const Index4 e = unflatten(i, g.P, g.Q, g.C);
  const int n = e.n, p = e.a, q = e.b, c = e.c;
  const AxisTaps<float> th = taps<float>(kind, p, g.H, g.P), tw = taps<float>(kind, q, g.W, g.Q);
  auto at = [&](int h, int w) { return __ldg(x + ((int64_t(n) * g.H + h) * g.W + w) * g.C + c); };
  y[i] = th.w0 * (tw.w0 * at(th.i0, tw.i0) + tw.w1 * at(th.i0, tw.i1)) +
         th.w1 * (tw.w0 * at(th.i1, tw.i0) + tw.w1 * at(th.i1, tw.i1));
}

__global__ void upsample_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, ResizeGeometry g,
                                         Interp kind) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= g.x_size()) return;
  const Index4 e = unflatten(i, g.H, g.W, g.C);
  const int n = e.n, h = e.a, w = e.b, c = e.c;
  const OutputRange ph = outputs_reading(kind, h, g.H, g.P), qw = outputs_reading(kind, w, g.W, g.Q);
  float acc = 0.f;
  for (int p = ph.begin; p < ph.end; ++p) {
    const float wh = tap_weight(taps<float>(kind, p, g.H, g.P), h);
    if (wh == 0.f) continue;
    for (int q = qw.begin; q < qw.end; ++q) {
      const float ww = tap_weight(taps<float>(kind, q, g.W, g.Q), w);
      if (ww == 0.f) continue;
      acc += wh * ww * __ldg(dy + ((int64_t(n) * g.P + p) * g.Q + q) * g.C + c);
    }
  }
  dx[i] = acc;
}

}  // namespace

void upsample_forward(const float* x, float* y, const ResizeGeometry& g, Interp kind, int device) {
  CUSEG_LAUNCH(upsample_forward_kernel, grid_1d(g.y_size(), kThreads), kThreads, 0, stream(device),
               x, y, g, kind);
}

void upsample_backward(const float* dy, float* dx, const ResizeGeometry& g, Interp kind, int device) {
  CUSEG_LAUNCH(upsample_backward_kernel, grid_1d(g.x_size(), kThreads), kThreads, 0, stream(device),
               dy, dx, g, kind);
}

}  // namespace cuseg::cuda
