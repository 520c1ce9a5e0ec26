#include "cuseg/kernels/cuda/elementwise_loss.h"
#include "cuseg/kernels/cuda/flat_reduce.cuh"
#include "cuseg/kernels/cuda/map.cuh"
#include "cuseg/kernels/elementwise_loss_math.h"

namespace cuseg::cuda {

namespace {

struct LossValue {
  const float* x;
  const float* t;
  const float* pos_weight;
  int channels;
  ElementwiseLossKind kind;
  float beta;
  __device__ double operator()(int64_t i) const {
    const float pw = pos_weight ? pos_weight[i % channels] : 1.f;
    return elementwise_loss_value(kind, __ldg(x + i), __ldg(t + i), pw, beta);
  }
};

struct StoreMean {
  float* loss;
  int64_t n;
  __device__ void operator()(double total) const { *loss = float(total / double(n)); }
};

struct LossGradient {
  const float* x;
  const float* t;
  const float* pos_weight;
  float* dx;
  int channels;
  ElementwiseLossKind kind;
  float beta, scale;
  __device__ void operator()(int64_t i) const {
    const float pw = pos_weight ? pos_weight[i % channels] : 1.f;
    dx[i] = scale * elementwise_loss_derivative(kind, __ldg(x + i), __ldg(t + i), pw, beta);
  }
};

}  // namespace

void elementwise_loss_forward(const float* x, const float* t, const float* pos_weight, float* loss, int64_t n,
                              int channels, const ElementwiseLossParams& p, int device) {
  flat_reduce(n, LossValue{x, t, pos_weight, channels, p.kind, float(p.beta)}, StoreMean{loss, n}, device);
}

void elementwise_loss_backward(const float* x, const float* t, const float* pos_weight, float* dx, int64_t n,
                               int channels, double loss_grad, const ElementwiseLossParams& p, int device) {
  launch_map(n, device,
             LossGradient{x, t, pos_weight, dx, channels, p.kind, float(p.beta), float(loss_grad / double(n))});
}

}  // namespace cuseg::cuda
