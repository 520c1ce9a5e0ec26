// Group normalization, deterministic: one block per (n, g) group sums its elements with a fixed
// thread-to-element assignment, in double, and adds its threads' sums in a fixed tree — the mean,
// then the variance from the deviations (two passes, not E[x²] − E[x]²). Backward takes the
// group sums Σγ·dy and Σγ·dy·x̂ the same way, dγ and dβ through the per-channel column reduction
// (column_reduce.cuh) over the N·H·W rows, and dx in one elementwise pass. No atomics.
#include "cuseg/kernels/cuda/column_reduce.cuh"
#include "cuseg/kernels/cuda/flat_reduce.cuh"
#include "cuseg/kernels/cuda/group_norm.h"
#include "cuseg/kernels/cuda/map.cuh"

namespace cuseg::cuda {

namespace {

constexpr int kGroupThreads = kFlatThreads;  // block_sum's

// The flat index of element j (memory order) of group ng = n·G + k.
__device__ __forceinline__ int64_t group_element(const GroupGeometry& g, int ng, int64_t j) {
  const int cg = g.group_channels();
  const int n = ng / g.G, k = ng % g.G;
  return (int64_t(n) * g.HW + j / cg) * g.C + int64_t(k) * cg + j % cg;
}

__global__ void group_statistics_kernel(const float* x, GroupGeometry g, double eps,
                                        float* save_mean, float* save_invstd) {
  const int ng = blockIdx.x;
  const int64_t m = g.group_size();
  double sum = 0;
  for (int64_t j = threadIdx.x; j < m; j += kGroupThreads)
    sum += __ldg(x + group_element(g, ng, j));
  const double mean = block_sum(sum) / double(m);
  double squares = 0;
  for (int64_t j = threadIdx.x; j < m; j += kGroupThreads) {
    const double d = double(__ldg(x + group_element(g, ng, j))) - mean;
    squares += d * d;
  }
  const double var = block_sum(squares) / double(m);
  if (threadIdx.x == 0) {
    save_mean[ng] = float(mean);
    save_invstd[ng] = float(1.0 / sqrt(var + eps));
  }
}

// The group (n·G + k) of flat element i.
__device__ __forceinline__ int group_of(const GroupGeometry& g, int64_t i) {
  const int n = int(i / (g.HW * g.C)), c = int(i % g.C);
  return n * g.G + c / g.group_channels();
}

struct Normalize {
  const float* x;
  const float* gamma;
  const float* beta;
  const float* mean;
  const float* invstd;
  float* y;
  GroupGeometry g;
  __device__ void operator()(int64_t i) const {
    const int c = int(i % g.C), ng = group_of(g, i);
    y[i] = (__ldg(x + i) - mean[ng]) * invstd[ng] * gamma[c] + beta[c];
  }
};

// Per group: Σγ·dy and Σγ·dy·x̂, for dx.
__global__ void group_gradient_sums_kernel(const float* x, const float* dy, const float* gamma,
                                           const float* mean, const float* invstd, GroupGeometry g,
                                           double* sums) {
  const int ng = blockIdx.x;
  const int64_t m = g.group_size();
  const int cg = g.group_channels(), k = ng % g.G;
  double sum_g = 0, sum_g_xhat = 0;
  for (int64_t j = threadIdx.x; j < m; j += kGroupThreads) {
    const int64_t i = group_element(g, ng, j);
    const double gd = double(gamma[k * cg + int(j % cg)]) * double(__ldg(dy + i));
    sum_g += gd;
    sum_g_xhat += gd * (double(__ldg(x + i)) - double(mean[ng])) * double(invstd[ng]);
  }
  const double total_g = block_sum(sum_g), total_g_xhat = block_sum(sum_g_xhat);
  if (threadIdx.x == 0) {
    sums[2 * ng] = total_g;
    sums[2 * ng + 1] = total_g_xhat;
  }
}

// Per channel over the N·H·W rows: Σdy and Σdy·x̂.
struct ParameterSums {
  const float* x;
  const float* dy;
  const float* mean;
  const float* invstd;
  GroupGeometry g;
  __device__ Sums<2> operator()(int64_t r, int c) const {
    const int ng = int(r / g.HW) * g.G + c / g.group_channels();
    const float d = __ldg(dy + r * g.C + c);
    const float xhat = (__ldg(x + r * g.C + c) - mean[ng]) * invstd[ng];
    return {{d, d * xhat}};
  }
};

struct ParameterFinish {
  float* dgamma;
  float* dbeta;
  __device__ void operator()(int c, const double (&total)[2]) const {
    dbeta[c] += float(total[0]);
    dgamma[c] += float(total[1]);
  }
};

struct InputGradient {
  const float* x;
  const float* dy;
  const float* gamma;
  const float* mean;
  const float* invstd;
  const double* sums;
  float* dx;
  GroupGeometry g;
  double inv_m;
  __device__ void operator()(int64_t i) const {
    const int c = int(i % g.C), ng = group_of(g, i);
    const float xhat = (__ldg(x + i) - mean[ng]) * invstd[ng];
    const float mean_g = float(sums[2 * ng] * inv_m), mean_g_xhat = float(sums[2 * ng + 1] * inv_m);
    dx[i] = invstd[ng] * (gamma[c] * __ldg(dy + i) - mean_g - xhat * mean_g_xhat);
  }
};

}  // namespace

void group_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* save_mean, float* save_invstd, const GroupGeometry& g, double eps,
                        int device) {
  CUSEG_LAUNCH(group_statistics_kernel, unsigned(g.N * g.G), kGroupThreads, 0, stream(device), x, g,
               eps, save_mean, save_invstd);
  launch_map(g.x_size(), device, Normalize{x, gamma, beta, save_mean, save_invstd, y, g});
}

void group_norm_backward(const float* x, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, const GroupGeometry& g, int device) {
  Scratch sums_scratch(sizeof(double) * 2 * size_t(g.N) * size_t(g.G), device);
  double* sums = sums_scratch.as<double>();
  CUSEG_LAUNCH(group_gradient_sums_kernel, unsigned(g.N * g.G), kGroupThreads, 0, stream(device), x,
               dy, gamma, save_mean, save_invstd, g, sums);
  column_reduce<2>(int64_t(g.N) * g.HW, g.C, ParameterSums{x, dy, save_mean, save_invstd, g},
                   ParameterFinish{dgamma, dbeta}, device);
  launch_map(g.x_size(), device,
             InputGradient{x, dy, gamma, save_mean, save_invstd, sums, dx, g,
                           1.0 / double(g.group_size())});
}

}  // namespace cuseg::cuda
