#include "cuseg/kernels/cudnn/conv2d.h"

#include <map>
#include <mutex>
#include <tuple>

#include "cuseg/core/cuda/runtime.h"
#include "cuseg/core/cuda/scratch.h"
#include "cuseg/kernels/cuda/conv2d.h"
#include "cuseg/kernels/cudnn/handle.h"

namespace cuseg::cudnn {

namespace {

// Descriptors of one convolution: NHWC activations, KRSC (cuDNN's NHWC filter) weights, with
// C/groups channels per filter and cuDNN's group count. Symmetric padding only (see run below).
struct ConvDescs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;

  explicit ConvDescs(const ConvGeometry& g) {
    CUSEG_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, g.N, g.C, g.H, g.W));
    CUSEG_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, g.N, g.K, g.P, g.Q));
    CUSEG_CUDNN_CHECK(
        cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, g.K, g.group_c(), g.R, g.S));
    CUSEG_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, g.pad_h, g.pad_w, g.stride_h,
                                                      g.stride_w, g.dil_h, g.dil_w,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUSEG_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, g.groups));
    // FP32 arithmetic only: no TF32 tensor cores, so the comparison with our FP32 kernels is fair.
    CUSEG_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
  }
};

enum class Direction { Forward, BackwardData, BackwardFilter };

struct Choice {
  int algo;
  size_t workspace;
};

using Key =
    std::tuple<int, Direction, int, int, int, int, int, int, int, int, int, int, int, int, int, int>;

Key key_of(int device, Direction d, const ConvGeometry& g) {
  return {device, d,          g.N,        g.H,     g.W,     g.C,     g.K,     g.R,
          g.S,    g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w, g.groups};
}

// The fastest successful result of a cudnnFind* call reported with FMA math, else with default
// math. The descriptor stays on CUDNN_FMA_MATH either way; should cuDNN still use TF32, the GPU
// tests' 1e-5 tolerance against the float64 reference would show it.
template <class Perf>
Choice pick(const Perf* results, int count, const char* what) {
  for (cudnnMathType_t wanted : {CUDNN_FMA_MATH, CUDNN_DEFAULT_MATH})
    for (int i = 0; i < count; ++i)
      if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].mathType == wanted)
        return {int(results[i].algo), results[i].memory};
  throw_error(str_cat("cudnn ", what, ": no FP32 algorithm without tensor cores available"));
}

// Benchmarks cuDNN's algorithms once per geometry and direction (cudnnFind*), then reuses the pick.
Choice choose(int device, Direction d, const ConvGeometry& g, const ConvDescs& desc) {
  static std::mutex mutex;
  static std::map<Key, Choice> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const Key key = key_of(device, d, g);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  cudnnHandle_t h = handle(device);
  constexpr int kMax = 16;
  int count = 0;
  Choice c{};
  if (d == Direction::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[kMax];
    CUSEG_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, desc.x, desc.w, desc.conv, desc.y,
                                                           kMax, &count, perf));
    c = pick(perf, count, "conv2d_forward");
  } else if (d == Direction::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
    CUSEG_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(h, desc.w, desc.y, desc.conv,
                                                                desc.x, kMax, &count, perf));
    c = pick(perf, count, "conv2d_backward_data");
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
    CUSEG_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(h, desc.x, desc.y, desc.conv,
                                                                  desc.w, kMax, &count, perf));
    c = pick(perf, count, "conv2d_backward_filter");
  }
  cache.emplace(key, c);
  return c;
}

void forward_symmetric(const float* x, const float* w, float* y, const ConvGeometry& g, int device) {
  ConvDescs desc(g);
  const Choice c = choose(device, Direction::Forward, g, desc);
  cuda::Scratch ws(c.workspace, device);  // the workspace for this call
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnConvolutionForward(handle(device), &alpha, desc.x, x, desc.w, w, desc.conv,
                                            cudnnConvolutionFwdAlgo_t(c.algo), ws.data(),
                                            ws.bytes(), &beta, desc.y, y));
}

void backward_data_symmetric(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          int device) {
  ConvDescs desc(g);
  const Choice c = choose(device, Direction::BackwardData, g, desc);
  cuda::Scratch ws(c.workspace, device);  // the workspace for this call
  const float alpha = 1.f, beta = 0.f;
  CUSEG_CUDNN_CHECK(cudnnConvolutionBackwardData(handle(device), &alpha, desc.w, w, desc.y, dy,
                                                 desc.conv, cudnnConvolutionBwdDataAlgo_t(c.algo),
                                                 ws.data(), ws.bytes(), &beta, desc.x, dx));
}

void backward_filter_symmetric(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            int device) {
  ConvDescs desc(g);
  const Choice c = choose(device, Direction::BackwardFilter, g, desc);
  cuda::Scratch ws(c.workspace, device);  // the workspace for this call
  const float alpha = 1.f, beta = 1.f;  // dw accumulates
  CUSEG_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      handle(device), &alpha, desc.x, x, desc.y, dy, desc.conv,
      cudnnConvolutionBwdFilterAlgo_t(c.algo), ws.data(), ws.bytes(), &beta, desc.w, dw));
}

// cuDNN's legacy descriptors have one pad per dimension, applied on both sides. A problem with
// asymmetric padding (TensorFlow's "same") runs as the unpadded problem over a zero-padded copy of
// x, whose output is the same; backward-data computes the gradient of that padded copy and crops
// it. The copies cost two passes over x, small beside the convolution.
ConvGeometry padded_problem(const ConvGeometry& g) {
  ConvGeometry p = g;
  p.H = g.H + g.pad_h + g.pad_bottom, p.W = g.W + g.pad_w + g.pad_right;
  p.pad_h = p.pad_w = p.pad_bottom = p.pad_right = 0;
  return p;
}

// x padded as padded_problem(g) reads it, in scratch memory.
cuda::Scratch padded_input(const float* x, const ConvGeometry& g, const ConvGeometry& p, int device) {
  cuda::Scratch xp(size_t(p.x_size()) * sizeof(float), device);
  cuda::copy_window(x, g.N, g.H, g.W, g.C, xp.as<float>(), p.H, p.W, g.pad_h, g.pad_w, device);
  return xp;
}

// Bias b[K] seen by cuDNN as a [1, K, 1, 1] tensor broadcast over the [rows, K, 1, 1] activations.
struct BiasDescs {
  TensorDesc y, b;
  BiasDescs(int64_t rows, int channels) {
    CUSEG_CHECK(rows < (int64_t(1) << 31), "cudnn bias: too many rows");
    CUSEG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, int(rows),
                                                 channels, 1, 1));
    CUSEG_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, channels, 1, 1));
  }
};

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, int device) {
  if (g.symmetric()) return forward_symmetric(x, w, y, g, device);
  const ConvGeometry p = padded_problem(g);
  const cuda::Scratch xp = padded_input(x, g, p, device);
  forward_symmetric(xp.as<float>(), w, y, p, device);
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g, int device) {
  if (g.symmetric()) return backward_data_symmetric(dy, w, dx, g, device);
  const ConvGeometry p = padded_problem(g);
  cuda::Scratch dxp(size_t(p.x_size()) * sizeof(float), device);
  backward_data_symmetric(dy, w, dxp.as<float>(), p, device);
  cuda::copy_window(dxp.as<float>(), p.N, p.H, p.W, p.C, dx, g.H, g.W, -g.pad_h, -g.pad_w, device);
}

void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g, int device) {
  if (g.symmetric()) return backward_filter_symmetric(x, dy, dw, g, device);
  const ConvGeometry p = padded_problem(g);
  const cuda::Scratch xp = padded_input(x, g, p, device);
  backward_filter_symmetric(xp.as<float>(), dy, dw, p, device);
}

void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels, int device) {
  BiasDescs desc(rows, channels);
  const float alpha = 1.f, beta = 1.f;
  CUSEG_CUDNN_CHECK(cudnnAddTensor(handle(device), &alpha, desc.b, b, &beta, desc.y, y));
}

void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels, int device) {
  BiasDescs desc(rows, channels);
  const float alpha = 1.f, beta = 1.f;  // db accumulates
  CUSEG_CUDNN_CHECK(
      cudnnConvolutionBackwardBias(handle(device), &alpha, desc.y, dy, &beta, desc.b, db));
}

}  // namespace cuseg::cudnn
