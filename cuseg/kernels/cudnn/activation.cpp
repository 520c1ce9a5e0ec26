#include "cuseg/kernels/cudnn/activation.h"

#include "cuseg/kernels/cudnn/handle.h"

namespace cuseg::cudnn {

namespace {

using ActivationDesc = Descriptor<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor,
                                  cudnnDestroyActivationDescriptor>;

struct ActivationDescs {
  TensorDesc t;
  ActivationDesc act;
  ActivationDescs(int64_t n, ActivationKind kind) {
    CUSEG_CHECK(n < (int64_t(1) << 31), "cudnn activation: ", n, " elements is too many for one call");
    cudnnActivationMode_t mode = CUDNN_ACTIVATION_RELU;
    if (kind == ActivationKind::Sigmoid) mode = CUDNN_ACTIVATION_SIGMOID;
    if (kind == ActivationKind::Tanh) mode = CUDNN_ACTIVATION_TANH;
    if (kind == ActivationKind::Relu6) mode = CUDNN_ACTIVATION_CLIPPED_RELU;  // clipped at coef 6
    if (kind == ActivationKind::Silu) mode = CUDNN_ACTIVATION_SWISH;          // x·σ(βx), β set below
    CUSEG_CHECK(kind != ActivationKind::LeakyRelu, "cudnn activation: cuDNN has no LeakyReLU");
    CUSEG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(n), 1, 1, 1));
    CUSEG_CUDNN_CHECK(cudnnSetActivationDescriptor(act, mode, CUDNN_PROPAGATE_NAN, 6.0));
    if (kind == ActivationKind::Silu) CUSEG_CUDNN_CHECK(cudnnSetActivationDescriptorSwishBeta(act, 1.0));
  }
};

}  // namespace

void activation_forward(const float* x, float* y, int64_t n, ActivationKind kind, int device) {
  ActivationDescs d(n, kind);
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnActivationForward(handle(device), d.act, &alpha, d.t, x, &beta, d.t, y));
}

void activation_backward(const float* y, const float* dy, float* dx, int64_t n, ActivationKind kind, int device,
                         const float* x) {
  CUSEG_CHECK(x || !activation_needs_input(kind), "cudnn activation: ", activation_name(kind), "'s backward needs x");
  ActivationDescs d(n, kind);
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(
      cudnnActivationBackward(handle(device), d.act, &alpha, d.t, y, d.t, dy, d.t, x ? x : y, &beta, d.t, dx));
}

}  // namespace cuseg::cudnn
