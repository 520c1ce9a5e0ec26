// Soft Dice: a row pass for each pixel's log-sum-exp, the per-class sums through the
// deterministic column reduction, then one thread per pixel for the gradient (class counts in
// segmentation are small: a plain loop over the row).
#include "cuseg/kernels/cuda/column_reduce.cuh"
#include "cuseg/kernels/cuda/dice.h"
#include "cuseg/kernels/cuda/labels.cuh"
#include "cuseg/kernels/cuda/flat_reduce.cuh"
#include "cuseg/kernels/cuda/map.cuh"
#include "cuseg/kernels/dice_math.h"

namespace cuseg::cuda {

namespace {

struct RowLogSumExp {
  const float* x;
  float* lse;
  int k;
  __device__ void operator()(int64_t r) const {
    const float* row = x + r * k;
    float m = row[0];
    for (int c = 1; c < k; ++c) m = fmaxf(m, row[c]);
    float sum = 0.f;
    for (int c = 0; c < k; ++c) sum += expf(row[c] - m);
    lse[r] = m + logf(sum);
  }
};

struct ClassSums {
  const float* x;
  const float* lse;
  const void* labels;
  bool u8;
  int k, ignore;
  __device__ Sums<2> operator()(int64_t r, int c) const {
    const int label = label_at(labels, u8, r);
    if (label == ignore || label < 0 || label >= k) return {{0.f, 0.f}};
    const float p = expf(__ldg(x + r * k + c) - lse[r]);
    const float t = label == c ? 1.f : 0.f;
    return {{p * t, p + t}};
  }
};

struct StoreStats {
  float* stats;
  int k;
  __device__ void operator()(int c, const double (&total)[2]) const {
    stats[c] = float(total[0]);
    stats[k + c] = float(total[1]);
  }
};

__global__ void dice_loss_kernel(const float* stats, int k, double smooth, float* loss) {
  *loss = float(dice_loss_from_sums(stats, stats + k, k, smooth));
}

struct InvalidLabel {
  const void* labels;
  bool u8;
  int k, ignore;
  __device__ double operator()(int64_t i) const {
    const int label = label_at(labels, u8, i);
    return label != ignore && (label < 0 || label >= k) ? 1.0 : 0.0;
  }
};

struct StoreCount {
  double* count;
  bool add;
  __device__ void operator()(double total) const {
    if (add) {
      *count += total;
    } else {
      *count = total;
    }
  }
};

struct DiceGradient {
  const float* x;
  const void* labels;
  bool u8;
  const float* stats;
  float* dx;
  int k, ignore;
  float smooth, scale;  // scale = loss_grad / K
  __device__ void operator()(int64_t r) const {
    const float* row = x + r * k;
    float* d = dx + r * k;
    const int label = label_at(labels, u8, r);
    if (label == ignore || label < 0 || label >= k) {
      for (int c = 0; c < k; ++c) d[c] = 0.f;
      return;
    }
    float m = row[0];
    for (int c = 1; c < k; ++c) m = fmaxf(m, row[c]);
    float sum = 0.f;
    for (int c = 0; c < k; ++c) sum += expf(row[c] - m);
    const float lse = m + logf(sum);
    // Two passes over the row: the dot product Σ p·g first, then the gradient.
    auto grad = [&](int c) {
      const float a = 2.f * stats[c] + smooth, b = stats[k + c] + smooth;
      return -scale * (2.f * (c == label ? 1.f : 0.f) * b - a) / (b * b);
    };
    float dot = 0.f;
    for (int c = 0; c < k; ++c) dot += expf(row[c] - lse) * grad(c);
    for (int c = 0; c < k; ++c) d[c] = expf(row[c] - lse) * (grad(c) - dot);
  }
};

}  // namespace

int64_t dice_forward(const float* logits, const void* labels, bool labels_u8, float* loss, float* stats,
                     const RowGeometry& g, double smooth, int ignore_index, int device, double* add_invalid_to) {
  cudaStream_t s = stream(device);
  // The invalid count goes where the host reads it back, or is added to a DeviceChecks counter.
  Scratch lse_scratch(sizeof(float) * size_t(g.rows), device),
      invalid_scratch(add_invalid_to ? 0 : sizeof(double), device);
  float* lse = lse_scratch.as<float>();
  double* invalid_dev = add_invalid_to ? add_invalid_to : invalid_scratch.as<double>();
  launch_map(g.rows, device, RowLogSumExp{logits, lse, g.channels});
  column_reduce<2>(g.rows, g.channels, ClassSums{logits, lse, labels, labels_u8, g.channels, ignore_index},
                   StoreStats{stats, g.channels}, device);
  CUSEG_LAUNCH(dice_loss_kernel, 1, 1, 0, s, stats, g.channels, smooth, loss);
  flat_reduce(g.rows, InvalidLabel{labels, labels_u8, g.channels, ignore_index},
              StoreCount{invalid_dev, add_invalid_to != nullptr}, device);
  if (add_invalid_to) return 0;
  double invalid = 0;
  CUSEG_CUDA_CHECK(cudaMemcpyAsync(&invalid, invalid_dev, sizeof(double), cudaMemcpyDeviceToHost, s));
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));
  return int64_t(invalid);
}

void dice_backward(const float* logits, const void* labels, bool labels_u8, const float* stats, float* dlogits,
                   double loss_grad, const RowGeometry& g, double smooth, int ignore_index, int device) {
  launch_map(g.rows, device,
             DiceGradient{logits, labels, labels_u8, stats, dlogits, g.channels, ignore_index, float(smooth),
                          float(loss_grad / g.channels)});
}

}  // namespace cuseg::cuda
