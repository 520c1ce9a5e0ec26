#include "cuseg/kernels/cuda/conv2d.h"
#include "cuseg/kernels/cuda/column_reduce.cuh"
#include "cuseg/kernels/cuda/conv_problems.h"
#include "cuseg/kernels/cuda/depthwise.h"
#include "cuseg/kernels/cuda/map.cuh"
#include "cuseg/kernels/cuda/implicit_gemm.cuh"

namespace cuseg::cuda {

namespace {

struct AddBias {
  float* y;
  const float* b;
  int channels;
  __device__ void operator()(int64_t i) const { y[i] += __ldg(b + i % channels); }
  bool quads_aligned() const { return channels % 4 == 0 && aligned_for_float4(y, b); }
  __device__ void quad(int64_t g) const {
    store_float4(y + 4 * g, each(load_float4(y + 4 * g), load_float4(b + 4 * g % channels),
                                 [](float v, float bias) { return v + bias; }));
  }
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

// One output element of a direct depthwise kernel (cuda/depthwise.h): y from x and w (forward),
// or dx from dy and w.
template <bool kForward>
struct DepthwiseElement {
  ConvGeometry g;
  const float* in;
  const float* w;
  float* out;
  __device__ void operator()(int64_t i) const {
    out[i] = kForward ? depthwise_forward_at(g, in, w, i) : depthwise_backward_data_at(g, in, w, i);
  }
};

struct DepthwiseFilterTerm {
  ConvGeometry g;
  const float* x;
  const float* dy;
  __device__ Sums<1> operator()(int64_t npq, int col) const { return {{depthwise_filter_term(g, x, dy, npq, col)}}; }
};

struct DepthwiseFilterFinish {
  ConvGeometry g;
  float* dw;
  __device__ void operator()(int col, const double (&total)[1]) const {
    dw[depthwise_filter_index(g, col)] += float(total[0]);
  }
};

struct CopyWindow {
  const float* src;
  float* dst;
  int Hs, Ws, C, Hd, Wd, top, left;
  __device__ void operator()(int64_t i) const {
    const int c = int(i % C);
    const int64_t nhw = i / C;
    const int w = int(nhw % Wd) - left, h = int(nhw / Wd % Hd) - top;
    const int64_t n = nhw / Wd / Hd;
    dst[i] = (h < 0 || h >= Hs || w < 0 || w >= Ws) ? 0.f : __ldg(src + ((n * Hs + h) * Ws + w) * C + c);
  }
};

}  // namespace

void copy_window(const float* src, int N, int Hs, int Ws, int C, float* dst, int Hd, int Wd, int top, int left,
                 int device) {
  launch_map(int64_t(N) * Hd * Wd * C, device, CopyWindow{src, dst, Hs, Ws, C, Hd, Wd, top, left});
}

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, Precision precision,
                    int device) {
  if (is_depthwise(g)) return launch_map(g.y_size(), device, DepthwiseElement<true>{g, x, w, y});
  run_implicit_gemm(forward_problem(g, x, w, y), device, precision);
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          Precision precision, int device) {
  if (is_depthwise(g)) return launch_map(g.x_size(), device, DepthwiseElement<false>{g, dy, w, dx});
  run_implicit_gemm(backward_data_problem(g, dy, w, dx), device, precision);
}

void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            Precision precision, int device) {
  if (is_depthwise(g))
    return column_reduce<1>(int64_t(g.N) * g.P * g.Q, g.R * g.S * g.K, DepthwiseFilterTerm{g, x, dy},
                            DepthwiseFilterFinish{g, dw}, device);
  run_implicit_gemm(backward_filter_problem(g, x, dy, dw), device, precision);
}

void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels, int device) {
  launch_map(rows * channels, device, AddBias{y, b, channels});
}

void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels, int device) {
  column_reduce<1>(rows, channels, BiasGradValue{dy, channels}, BiasGradFinish{db}, device);
}

}  // namespace cuseg::cuda
