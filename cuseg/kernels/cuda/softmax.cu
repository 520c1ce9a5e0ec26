// Each row (one pixel's class scores) is handled by a group of G lanes of a warp, G the power
// of two nearest above the channel count (at most 32): small class counts, the usual case in
// segmentation, still keep every lane busy with its own row. Max and Σexp are computed in one
// online pass (the running sum is rescaled when the max grows), then combined across the group
// with shuffles.
#include <vector>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/cuda/scratch.h"
#include "cuseg/kernels/cuda/labels.cuh"
#include "cuseg/kernels/cuda/softmax.h"
#include "cuseg/kernels/softmax_ce_math.h"
#include "cuseg/kernels/cuda/shared_memory.cuh"

namespace cuseg::cuda {

namespace {

constexpr int kThreads = 256;

struct MaxSum {
  float max, sum;  // sum = Σ exp(x − max)
};

// Merges two partial (max, Σexp) of a row. A side whose max is −∞ holds no value (or only −∞
// ones, which add 0): taking the other side as is avoids exp(−∞ − (−∞)) = NaN.
__device__ __forceinline__ MaxSum combine(MaxSum a, MaxSum b) {
  if (a.max == -INFINITY) return b;
  if (b.max == -INFINITY) return a;
  const float m = fmaxf(a.max, b.max);
  return {m, a.sum * expf(a.max - m) + b.sum * expf(b.max - m)};
}

// Adds one value to a running max and Σexp. A −∞ adds exp(−∞ − max) = 0 whatever the max, and
// must be skipped rather than computed: while the max is still −∞ (the lane's first values),
// exp(−∞ − (−∞)) is NaN, and a later finite value would carry it on (NaN·0 + 1). A lane whose
// values are all −∞ then holds {−∞, 0}, which combine() drops.
__device__ __forceinline__ void accumulate(MaxSum& ms, float v) {
  if (v > ms.max) {
    ms.sum = ms.sum * expf(ms.max - v) + 1.f;  // ms.max = −∞: 0·0 + 1
    ms.max = v;
  } else if (v != -INFINITY) {
    ms.sum += expf(v - ms.max);
  }
}

// Max and Σexp of row `x` across the G lanes of a group; every lane gets the result.
template <int G>
__device__ __forceinline__ MaxSum row_max_sum(const float* x, int channels, int lane) {
  MaxSum ms{-INFINITY, 0.f};
  for (int c = lane; c < channels; c += G) accumulate(ms, __ldg(x + c));
#pragma unroll
  for (int offset = G / 2; offset > 0; offset /= 2) {
    MaxSum other{__shfl_xor_sync(0xffffffffu, ms.max, offset, G),
                 __shfl_xor_sync(0xffffffffu, ms.sum, offset, G)};
    ms = combine(ms, other);
  }
  return ms;
}

template <int G>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
  for (int offset = G / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset, G);
  return v;
}

// Row handled by this thread's group, and the thread's lane in it. Every lane of a warp reaches
// the shuffles (rows past the end compute on row 0 and store nothing), as __shfl_sync requires.
template <int G>
struct RowSlot {
  int64_t row;
  int lane;
  bool valid;
};

template <int G>
__device__ __forceinline__ RowSlot<G> row_slot(int64_t step, int64_t rows) {
  const int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / G + step;
  return {row < rows ? row : 0, int(threadIdx.x % G), row < rows};
}

// The grid-stride loop over rows: f(slot) for each row this thread's group owns, every lane
// taking part in every step (so f may shuffle before it checks slot.valid).
template <int G, class F>
__device__ __forceinline__ void for_each_row(int64_t rows, F&& f) {
  const int64_t rows_per_grid = int64_t(gridDim.x) * blockDim.x / G;
  for (int64_t step = 0; step < rows; step += rows_per_grid) f(row_slot<G>(step, rows));
}

template <int G>
__global__ void softmax_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                       RowGeometry g, bool log) {
  for_each_row<G>(g.rows, [&](const RowSlot<G>& slot) {
    const float* in = x + slot.row * g.channels;
    const MaxSum ms = row_max_sum<G>(in, g.channels, slot.lane);
    if (!slot.valid) return;
    float* out = y + slot.row * g.channels;
    const float log_sum = logf(ms.sum);
    for (int c = slot.lane; c < g.channels; c += G) {
      const float shifted = __ldg(in + c) - ms.max - log_sum;
      out[c] = log ? shifted : expf(shifted);
    }
  });
}

template <int G>
__global__ void softmax_backward_kernel(const float* __restrict__ y, const float* __restrict__ dy,
                                        float* __restrict__ dx, RowGeometry g, bool log) {
  for_each_row<G>(g.rows, [&](const RowSlot<G>& slot) {
    const int64_t o = slot.row * g.channels;
    float partial = 0.f;  // Σ dy·y for softmax, Σ dy for log-softmax
    for (int c = slot.lane; c < g.channels; c += G)
      partial += log ? __ldg(dy + o + c) : __ldg(dy + o + c) * __ldg(y + o + c);
    const float total = group_sum<G>(partial);
    if (!slot.valid) return;
    for (int c = slot.lane; c < g.channels; c += G) {
      const float yv = __ldg(y + o + c), dyv = __ldg(dy + o + c);
      dx[o + c] = log ? dyv - expf(yv) * total : yv * (dyv - total);
    }
  });
}

struct CePartial {
  double loss, weight;
  long long invalid;
};

// Grid-stride over rows; each block leaves one partial (loss, weight, invalid count) that the
// final kernel sums in block order, so the loss is the same run after run.
template <int G>
__global__ void cross_entropy_forward_kernel(const float* __restrict__ logits, const void* labels,
                                             bool labels_u8, const float* __restrict__ weights,
                                             CePartial* partials, RowGeometry g, int ignore_index,
                                             double label_smoothing, double focal_gamma) {
  double loss = 0.0, weight = 0.0;
  long long invalid = 0;
  for_each_row<G>(g.rows, [&](const RowSlot<G>& slot) {
    const float* x = logits + slot.row * g.channels;
    const MaxSum ms = row_max_sum<G>(x, g.channels, slot.lane);
    // Σ_c w[c]·x[c] and Σ_c w[c] over the row, for the smoothing term (all lanes shuffle).
    float wx = 0.f, wsum = 0.f;
    if (label_smoothing > 0)
      for (int c = slot.lane; c < g.channels; c += G) {
        const float wc = weights ? weights[c] : 1.f;
        wx += wc * __ldg(x + c);
        wsum += wc;
      }
    wx = group_sum<G>(wx);
    wsum = group_sum<G>(wsum);
    if (!slot.valid || slot.lane != 0) return;
    const int label = label_at(labels, labels_u8, slot.row);
    if (label == ignore_index) return;
    if (label < 0 || label >= g.channels) {
      ++invalid;
      return;
    }
    const double w = weights ? double(weights[label]) : 1.0;
    const double lse = double(ms.max) + double(logf(ms.sum));
    const double smooth = double(wsum) * lse - double(wx);  // Σ_c w[c]·(lse − x[c])
    const double nll = lse - double(x[label]);
    loss += (1 - label_smoothing) * w * focal_factor(exp(-nll), focal_gamma) * nll +
            label_smoothing / g.channels * smooth;
    weight += w;
  });
  CUSEG_SHARED(CePartial, block, [kThreads]);
  block[threadIdx.x] = {loss, weight, invalid};
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      block[threadIdx.x].loss += block[threadIdx.x + half].loss;
      block[threadIdx.x].weight += block[threadIdx.x + half].weight;
      block[threadIdx.x].invalid += block[threadIdx.x + half].invalid;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = block[0];
}

// The invalid count is stored in `invalid`, or added to `add_invalid_to` when given.
__global__ void cross_entropy_final_kernel(const CePartial* partials, int count, float* loss,
                                           float* weight_sum, long long* invalid, double* add_invalid_to) {
  CePartial total{0.0, 0.0, 0};
  for (int i = 0; i < count; ++i) {
    total.loss += partials[i].loss;
    total.weight += partials[i].weight;
    total.invalid += partials[i].invalid;
  }
  *loss = total.weight > 0 ? float(total.loss / total.weight) : 0.f;
  *weight_sum = float(total.weight);
  if (add_invalid_to) {
    *add_invalid_to += double(total.invalid);
  } else {
    *invalid = total.invalid;
  }
}

template <int G>
__global__ void cross_entropy_backward_kernel(const float* __restrict__ logits, const void* labels,
                                              bool labels_u8, const float* __restrict__ weights,
                                              const float* __restrict__ weight_sum,
                                              float* __restrict__ dlogits, float loss_grad,
                                              RowGeometry g, int ignore_index, float eps, float all_weights,
                                              float gamma) {
  const float total = *weight_sum;
  const float eps_per_class = eps / float(g.channels);
  for_each_row<G>(g.rows, [&](const RowSlot<G>& slot) {
    const float* x = logits + slot.row * g.channels;
    const MaxSum ms = row_max_sum<G>(x, g.channels, slot.lane);
    if (!slot.valid) return;
    float* d = dlogits + slot.row * g.channels;
    const int label = label_at(labels, labels_u8, slot.row);
    if (label == ignore_index || label < 0 || label >= g.channels || !(total > 0.f)) {
      for (int c = slot.lane; c < g.channels; c += G) d[c] = 0.f;
      return;
    }
    const float inv = loss_grad / total;
    const float log_sum = logf(ms.sum);
    const float nll = ms.max + log_sum - __ldg(x + label);
    const float w = (weights ? weights[label] : 1.f) * focal_coefficient(expf(-nll), nll, gamma);
    for (int c = slot.lane; c < g.channels; c += G) {
      const float prob = expf(__ldg(x + c) - ms.max - log_sum);
      const float wc = weights ? weights[c] : 1.f;
      d[c] = inv * ((1.f - eps) * w * (c == label ? prob - 1.f : prob) + eps_per_class * (prob * all_weights - wc));
    }
  });
}

// Calls f(std::integral_constant<int, G>) for the group size that fits `channels`.
template <class F>
void with_group_size(int channels, F&& f) {
  if (channels <= 1) return f(std::integral_constant<int, 1>{});
  if (channels <= 2) return f(std::integral_constant<int, 2>{});
  if (channels <= 4) return f(std::integral_constant<int, 4>{});
  if (channels <= 8) return f(std::integral_constant<int, 8>{});
  if (channels <= 16) return f(std::integral_constant<int, 16>{});
  return f(std::integral_constant<int, 32>{});
}

unsigned blocks_for(const RowGeometry& g, int group) {
  const int64_t rows_per_block = kThreads / group;
  return unsigned(std::min<int64_t>((g.rows + rows_per_block - 1) / rows_per_block, 65535));
}

}  // namespace

void softmax_forward(const float* x, float* y, const RowGeometry& g, bool log, int device) {
  with_group_size(g.channels, [&](auto group) {
    constexpr int G = decltype(group)::value;
    CUSEG_LAUNCH(softmax_forward_kernel<G>, blocks_for(g, G), kThreads, 0, stream(device), x, y, g,
                 log);
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, const RowGeometry& g, bool log,
                      int device) {
  with_group_size(g.channels, [&](auto group) {
    constexpr int G = decltype(group)::value;
    CUSEG_LAUNCH(softmax_backward_kernel<G>, blocks_for(g, G), kThreads, 0, stream(device), y, dy,
                 dx, g, log);
  });
}

int64_t softmax_cross_entropy_forward(const float* logits, const void* labels, bool labels_u8,
                                      const float* class_weights, float* loss, float* weight_sum,
                                      const RowGeometry& g, int ignore_index, double label_smoothing,
                                      double focal_gamma, int device, double* add_invalid_to) {
  cudaStream_t s = stream(device);
  // Few enough blocks that the final single-thread sum is negligible, enough to fill the GPU.
  constexpr unsigned kMaxBlocks = 1024;
  // The invalid count: read back from invalid_scratch, or added to a DeviceChecks counter.
  Scratch partials_scratch(kMaxBlocks * sizeof(CePartial), device),
      invalid_scratch(add_invalid_to ? 0 : sizeof(long long), device);
  CePartial* partials = partials_scratch.as<CePartial>();
  long long* invalid_dev = invalid_scratch.as<long long>();
  unsigned blocks = 0;
  with_group_size(g.channels, [&](auto group) {
    constexpr int G = decltype(group)::value;
    blocks = std::min(blocks_for(g, G), kMaxBlocks);
    CUSEG_LAUNCH(cross_entropy_forward_kernel<G>, blocks, kThreads, 0, s, logits, labels, labels_u8,
                 class_weights, partials, g, ignore_index, label_smoothing, focal_gamma);
  });
  CUSEG_LAUNCH(cross_entropy_final_kernel, 1, 1, 0, s, partials, int(blocks), loss, weight_sum,
               invalid_dev, add_invalid_to);
  if (add_invalid_to) return 0;
  long long invalid = 0;
  CUSEG_CUDA_CHECK(
      cudaMemcpyAsync(&invalid, invalid_dev, sizeof(invalid), cudaMemcpyDeviceToHost, s));
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));
  return invalid;
}

void softmax_cross_entropy_backward(const float* logits, const void* labels, bool labels_u8,
                                    const float* class_weights, const float* weight_sum, float* dlogits,
                                    double loss_grad, const RowGeometry& g, int ignore_index,
                                    double label_smoothing, double focal_gamma, int device) {
  // Σ_c w[c], on the host: the weights are a few numbers, read once per step.
  float all_weights = float(g.channels);
  if (class_weights && label_smoothing > 0) {
    std::vector<float> w(size_t(g.channels));
    CUSEG_CUDA_CHECK(cudaMemcpyAsync(w.data(), class_weights, sizeof(float) * w.size(), cudaMemcpyDeviceToHost,
                                     stream(device)));
    CUSEG_CUDA_CHECK(cudaStreamSynchronize(stream(device)));
    all_weights = 0;
    for (float v : w) all_weights += v;
  }
  with_group_size(g.channels, [&](auto group) {
    constexpr int G = decltype(group)::value;
    CUSEG_LAUNCH(cross_entropy_backward_kernel<G>, blocks_for(g, G), kThreads, 0, stream(device),
                 logits, labels, labels_u8, class_weights, weight_sum, dlogits, float(loss_grad), g,
                 ignore_index, float(label_smoothing), all_weights, float(focal_gamma));
  });
}

}  // namespace cuseg::cuda
