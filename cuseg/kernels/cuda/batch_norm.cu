// Batch normalization: per-channel statistics through the deterministic column reduction
// (column_reduce.cuh: the mean, then the variance from the deviations — two passes, not
// E[x²] − E[x]²), then one elementwise pass. Backward takes Σdy and Σdy·x̂ in one reduction pass
// and dx in a second elementwise pass. The elementwise passes take four channels at a time where
// the channel count is a multiple of 4 (map.cuh's quads).
#include "cuseg/kernels/cuda/batch_norm.h"
#include "cuseg/kernels/cuda/column_reduce.cuh"
#include "cuseg/kernels/cuda/map.cuh"

namespace cuseg::cuda {

namespace {

struct XValue {
  const float* x;
  int channels;
  __device__ Sums<1> operator()(int64_t r, int c) const { return {{__ldg(x + r * channels + c)}}; }
};

struct MeanFinish {
  float* mean;
  double rows;
  __device__ void operator()(int c, const double (&total)[1]) const { mean[c] = float(total[0] / rows); }
};

struct SquaredDeviation {
  const float* x;
  const float* mean;
  int channels;
  __device__ Sums<1> operator()(int64_t r, int c) const {
    const float d = __ldg(x + r * channels + c) - mean[c];
    return {{d * d}};
  }
};

struct VarianceFinish {
  float* invstd;
  float* running_mean;
  float* running_var;
  const float* mean;
  double rows, eps, momentum;
  __device__ void operator()(int c, const double (&total)[1]) const {
    const double var = total[0] / rows;
    invstd[c] = float(1.0 / sqrt(var + eps));
    running_mean[c] = float((1 - momentum) * double(running_mean[c]) + momentum * double(mean[c]));
    running_var[c] = float((1 - momentum) * double(running_var[c]) + momentum * var * rows / (rows - 1));
  }
};

// y = (x − mean)·invstd·γ + β, with invstd given, or computed from a variance when var != null.
struct Normalize {
  const float* x;
  const float* mean;
  const float* invstd;
  const float* var;
  float eps;
  const float* gamma;
  const float* beta;
  float* y;
  int channels;
  __device__ void operator()(int64_t i) const {
    const int c = int(i % channels);
    const float s = var ? 1.f / sqrtf(var[c] + eps) : invstd[c];
    y[i] = (__ldg(x + i) - mean[c]) * s * gamma[c] + beta[c];
  }
  // Four elements, four consecutive channels (channels % 4 == 0): one division for the four.
  bool quads_aligned() const {
    return channels % 4 == 0 && aligned_for_float4(x, y, mean, gamma, beta) && aligned_for_float4(var ? var : invstd);
  }
  __device__ void quad(int64_t g) const {
    const int c = int(4 * g % channels);
    const float4 xs = load_float4(x + 4 * g), m = load_float4(mean + c), ga = load_float4(gamma + c),
                 be = load_float4(beta + c);
    const float4 s = var ? each(load_float4(var + c), [&](float v) { return 1.f / sqrtf(v + eps); }) : load_float4(invstd + c);
    store_float4(y + 4 * g, make_each([&](int k) {
                   return (lane(xs, k) - lane(m, k)) * lane(s, k) * lane(ga, k) + lane(be, k);
                 }));
  }
};

struct GradSums {
  const float* x;
  const float* dy;
  const float* mean;
  const float* invstd;
  int channels;
  __device__ Sums<2> operator()(int64_t r, int c) const {
    const float g = __ldg(dy + r * channels + c);
    const float xhat = (__ldg(x + r * channels + c) - mean[c]) * invstd[c];
    return {{g, g * xhat}};
  }
};

struct GradFinish {
  float* dgamma;
  float* dbeta;
  float* sums;  // [2·C]: Σdy, Σdy·x̂ for the dx pass
  int channels;
  __device__ void operator()(int c, const double (&total)[2]) const {
    dbeta[c] += float(total[0]);
    dgamma[c] += float(total[1]);
    sums[c] = float(total[0]);
    sums[channels + c] = float(total[1]);
  }
};

struct InputGradient {
  const float* x;
  const float* dy;
  const float* gamma;
  const float* mean;
  const float* invstd;
  const float* sums;
  float* dx;
  int channels;
  float inv_rows;
  __device__ void operator()(int64_t i) const {
    const int c = int(i % channels);
    const float xhat = (__ldg(x + i) - mean[c]) * invstd[c];
    dx[i] = gamma[c] * invstd[c] * (__ldg(dy + i) - sums[c] * inv_rows - xhat * sums[channels + c] * inv_rows);
  }
  bool quads_aligned() const {
    return channels % 4 == 0 && aligned_for_float4(x, dy, dx, gamma, mean, invstd, sums);
  }
  __device__ void quad(int64_t g) const {
    const int c = int(4 * g % channels);
    const float4 xs = load_float4(x + 4 * g), dys = load_float4(dy + 4 * g), ga = load_float4(gamma + c),
                 m = load_float4(mean + c), is = load_float4(invstd + c), s0 = load_float4(sums + c),
                 s1 = load_float4(sums + channels + c);
    store_float4(dx + 4 * g, make_each([&](int k) {
                   const float xhat = (lane(xs, k) - lane(m, k)) * lane(is, k);
                   return lane(ga, k) * lane(is, k) *
                          (lane(dys, k) - lane(s0, k) * inv_rows - xhat * lane(s1, k) * inv_rows);
                 }));
  }
};

}  // namespace

void batch_norm_forward_training(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                                 float* save_invstd, float* running_mean, float* running_var, int64_t rows,
                                 int channels, double eps, double momentum, int device) {
  column_reduce<1>(rows, channels, XValue{x, channels}, MeanFinish{save_mean, double(rows)}, device);
  column_reduce<1>(rows, channels, SquaredDeviation{x, save_mean, channels},
                   VarianceFinish{save_invstd, running_mean, running_var, save_mean, double(rows), eps, momentum},
                   device);
  launch_map(rows * channels, device, Normalize{x, save_mean, save_invstd, nullptr, 0.f, gamma, beta, y, channels});
}

void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta, const float* running_mean,
                                  const float* running_var, float* y, int64_t rows, int channels, double eps,
                                  int device) {
  launch_map(rows * channels, device,
             Normalize{x, running_mean, nullptr, running_var, float(eps), gamma, beta, y, channels});
}

void batch_norm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                         const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t rows, int channels,
                         int device) {
  Scratch sums_scratch(sizeof(float) * 2 * size_t(channels), device);
  float* sums = sums_scratch.as<float>();
  column_reduce<2>(rows, channels, GradSums{x, dy, save_mean, save_invstd, channels},
                   GradFinish{dgamma, dbeta, sums, channels}, device);
  launch_map(rows * channels, device,
             InputGradient{x, dy, gamma, save_mean, save_invstd, sums, dx, channels, float(1.0 / double(rows))});
}

}  // namespace cuseg::cuda
