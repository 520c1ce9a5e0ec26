#include "cuseg/kernels/cudnn/batch_norm.h"

#include "cuseg/kernels/cudnn/handle.h"

namespace cuseg::cudnn {

namespace {

struct BnDescs {
  TensorDesc x, params;
  BnDescs(int n, int h, int w, int c) {
    CUSEG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n, c, h, w));
    CUSEG_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(params, x, CUDNN_BATCHNORM_SPATIAL));
  }
};

}  // namespace

void batch_norm_forward_training(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                                 float* save_invstd, float* running_mean, float* running_var, int n, int h, int w,
                                 int channels, double eps, double momentum, int device) {
  BnDescs d(n, h, w, channels);
  const float one = 1.f, zero = 0.f;
  CUSEG_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(handle(device), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x,
                                                           x, d.x, y, d.params, gamma, beta, momentum, running_mean,
                                                           running_var, eps, save_mean, save_invstd));
}

void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta, const float* running_mean,
                                  const float* running_var, float* y, int n, int h, int w, int channels, double eps,
                                  int device) {
  BnDescs d(n, h, w, channels);
  const float one = 1.f, zero = 0.f;
  CUSEG_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(handle(device), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x,
                                                            x, d.x, y, d.params, gamma, beta, running_mean,
                                                            running_var, eps));
}

void batch_norm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                         const float* save_invstd, float* dx, float* dgamma, float* dbeta, int n, int h, int w,
                         int channels, double eps, int device) {
  BnDescs d(n, h, w, channels);
  const float one = 1.f, zero = 0.f;
  // Data gradient assigned (β = 0), parameter gradients accumulated (β = 1).
  CUSEG_CUDNN_CHECK(cudnnBatchNormalizationBackward(handle(device), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &one,
                                                    d.x, x, d.x, dy, d.x, dx, d.params, gamma, dgamma, dbeta, eps,
                                                    save_mean, save_invstd));
}

}  // namespace cuseg::cudnn
