#include "cuseg/kernels/cudnn/pool2d.h"

#include "cuseg/kernels/cuda/pool2d.h"
#include "cuseg/kernels/cudnn/handle.h"

namespace cuseg::cudnn {

namespace {

// cuDNN has no ceil mode: its output is always ⌊(H + 2·pad − k) / stride⌋ + 1, and its padding is
// symmetric, so a window hanging past the right padding cannot be described to it (padding the
// descriptor's input extent would change which windows average over padding). Geometries where
// ceil mode adds a row or column are answered by cuseg's CUDA kernels: kernels/op.h's rule for
// Backend::Cudnn where cuDNN has no such op.
bool cudnn_can(const PoolGeometry& g) {
  return g.P == (g.H + 2 * g.pad_h - g.kernel_h) / g.stride_h + 1 &&
         g.Q == (g.W + 2 * g.pad_w - g.kernel_w) / g.stride_w + 1;
}

struct PoolDescs {
  TensorDesc x, y;
  PoolDesc pool;

  PoolDescs(const PoolGeometry& g, bool max) {
    CUSEG_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, g.N, g.C, g.H, g.W));
    CUSEG_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, g.N, g.C, g.P, g.Q));
    const cudnnPoolingMode_t mode = max ? CUDNN_POOLING_MAX
                                    : g.count_include_pad
                                        ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                        : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    CUSEG_CUDNN_CHECK(cudnnSetPooling2dDescriptor(pool, mode, CUDNN_PROPAGATE_NAN, g.kernel_h,
                                                  g.kernel_w, g.pad_h, g.pad_w, g.stride_h,
                                                  g.stride_w));
  }
};

void forward(const float* x, float* y, const PoolGeometry& g, bool max, int device) {
  PoolDescs d(g, max);
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnPoolingForward(handle(device), d.pool, &alpha, d.x, x, &beta, d.y, y));
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, const PoolGeometry& g, int device) {
  CUSEG_CHECK(cudnn_can(g), "cudnn max pooling: no ceil mode that adds an output");
  forward(x, y, g, true, device);
}

void max_pool2d_backward(const float* x, const float* y, const float* dy, float* dx,
                         const PoolGeometry& g, int device) {
  CUSEG_CHECK(cudnn_can(g), "cudnn max pooling: no ceil mode that adds an output");
  PoolDescs d(g, true);
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnPoolingBackward(handle(device), d.pool, &alpha, d.y, y, d.y, dy, d.x, x,
                                         &beta, d.x, dx));
}

void avg_pool2d_forward(const float* x, float* y, const PoolGeometry& g, int device) {
  if (!cudnn_can(g)) return cuda::avg_pool2d_forward(x, y, g, device);
  forward(x, y, g, false, device);
}

void avg_pool2d_backward(const float* dy, float* dx, const PoolGeometry& g, int device) {
  // Average pooling's gradient does not depend on x or y, but the call takes them: dy and dx
  // stand in, with the right shapes.
  if (!cudnn_can(g)) return cuda::avg_pool2d_backward(dy, dx, g, device);
  PoolDescs d(g, false);
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnPoolingBackward(handle(device), d.pool, &alpha, d.y, dy, d.y, dy, d.x, dx,
                                         &beta, d.x, dx));
}

}  // namespace cuseg::cudnn
