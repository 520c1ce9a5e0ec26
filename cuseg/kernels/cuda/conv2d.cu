#include "cuseg/kernels/cuda/conv2d.h"
#include "cuseg/kernels/cuda/column_reduce.cuh"
#include "cuseg/kernels/cuda/conv_problems.h"
#include "cuseg/kernels/cuda/map.cuh"
#include "cuseg/kernels/cuda/implicit_gemm.cuh"

namespace cuseg::cuda {

namespace {

struct AddBias {
  float* y;
  const float* b;
  int channels;
  __device__ void operator()(int64_t i) const { y[i] += __ldg(b + i % channels); }
};

struct BiasGradValue {
  const float* dy;
  int channels;
  __device__ Sums<1> operator()(int64_t row, int c) const { return {{__ldg(dy + row * channels + c)}}; }
};

struct BiasGradFinish {
  float* db;
  __device__ void operator()(int c, const double (&total)[1]) const { db[c] += float(total[0]); }
};

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, int device) {
  ConvForward prob{g.N * g.P * g.Q, g.K, g.R * g.S * g.C, g, x, w, y};
  run_implicit_gemm(prob, device);
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          int device) {
  ConvBackwardData prob{g.N * g.H * g.W, g.C, g.R * g.S * g.K, g, dy, w, dx};
  run_implicit_gemm(prob, device);
}

void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            int device) {
  ConvBackwardFilter prob{g.K, g.R * g.S * g.C, g.N * g.P * g.Q, g, x, dy, dw};
  run_implicit_gemm(prob, device);
}

void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels, int device) {
  launch_map(rows * channels, device, AddBias{y, b, channels});
}

void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels, int device) {
  column_reduce<1>(rows, channels, BiasGradValue{dy, channels}, BiasGradFinish{db}, device);
}

}  // namespace cuseg::cuda
