#include "cuseg/kernels/cudnn/softmax.h"

#include "cuseg/kernels/cudnn/handle.h"

namespace cuseg::cudnn {

namespace {

struct RowsDesc {
  TensorDesc t;
  explicit RowsDesc(const RowGeometry& g) {
    CUSEG_CHECK(g.rows < (int64_t(1) << 31), "cudnn softmax: too many rows (", g.rows, ")");
    CUSEG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                 int(g.rows), g.channels, 1, 1));
  }
};

cudnnSoftmaxAlgorithm_t algorithm(bool log) {
  return log ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE;
}

}  // namespace

void softmax_forward(const float* x, float* y, const RowGeometry& g, bool log, int device) {
  RowsDesc d(g);
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnSoftmaxForward(handle(device), algorithm(log), CUDNN_SOFTMAX_MODE_CHANNEL,
                                        &alpha, d.t, x, &beta, d.t, y));
}

void softmax_backward(const float* y, const float* dy, float* dx, const RowGeometry& g, bool log,
                      int device) {
  RowsDesc d(g);
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnSoftmaxBackward(handle(device), algorithm(log), CUDNN_SOFTMAX_MODE_CHANNEL,
                                         &alpha, d.t, y, d.t, dy, &beta, d.t, dx));
}

}  // namespace cuseg::cudnn
