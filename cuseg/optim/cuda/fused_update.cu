#include "cuseg/core/cuda/launch.h"
#include "cuseg/kernels/cuda/flat_reduce.cuh"
#include "cuseg/optim/cuda/fused_update.h"
#include "cuseg/optim/step_health.h"

namespace cuseg::cuda {

namespace {

constexpr int kThreads = kFlatThreads;  // the block sum of flat_reduce.cuh takes whole blocks
// Elements per chunk: large enough that the per-chunk table lookup is noise, small enough that
// a 1M-parameter model still spreads over every multiprocessor.
constexpr int64_t kChunk = 8192;

struct Entry {
  float* w;
  float* g;
  float* s[3];
  int64_t n;
  int64_t first_chunk;
  int group;
};

struct StepArgs {
  StepHyper<float> hyper[kMaxParamGroups];
  const Entry* table;
  int tensors;
  int64_t chunks;
  float scale;
  const float* scale_on_device;
  const StepHyper<float>* hyper_on_device;  // a staged step's: read instead of `hyper`
  const int* skip;                          // a staged step's: the step was refused
  bool zero_grad;                           // a staged step's: the gradients zeroed once read
};

// The entry holding `chunk`: the last one whose first chunk is at or before it.
__device__ __forceinline__ const Entry& entry_of(const Entry* table, int tensors, int64_t chunk) {
  int lo = 0, hi = tensors - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (table[mid].first_chunk <= chunk) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return table[lo];
}

// Every element is read once (w, g, state) and written once (w, state): the step is a single
// pass over memory, bound by bandwidth. A staged step also zeroes the gradient it read (the next
// step's zero_grad, without a pass of its own), also when the step was refused.
template <OptimizerKind Kind>
__global__ void __launch_bounds__(kThreads) fused_update_kernel(const StepArgs args) {
  const bool skip = args.skip && *args.skip;
  if (skip && !args.zero_grad) return;
  const float scale = args.scale_on_device ? *args.scale_on_device : args.scale;
  for (int64_t chunk = blockIdx.x; chunk < args.chunks; chunk += gridDim.x) {
    const Entry& e = entry_of(args.table, args.tensors, chunk);
    const int64_t begin = (chunk - e.first_chunk) * kChunk;
    const int64_t end = min(e.n, begin + kChunk);
    float* const g = e.g;
    if (skip) {
      for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) g[i] = 0.f;
      continue;
    }
    const StepHyper<float> h = args.hyper_on_device ? args.hyper_on_device[e.group] : args.hyper[e.group];
    float* const w = e.w;
    float* const s0 = e.s[0];
    float* const s1 = e.s[1];
    float* const s2 = e.s[2];
    for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
      float wv = w[i];
      float a = s0 ? s0[i] : 0.f, b = s1 ? s1[i] : 0.f, c = s2 ? s2[i] : 0.f;
      // __ldg only where the kernel does not write g: the read-only cache is not coherent with it.
      const float gv = args.zero_grad ? g[i] : __ldg(g + i);
      if (args.zero_grad) g[i] = 0.f;
      update_element(Kind, h, scale, wv, gv, &a, &b, &c);
      w[i] = wv;
      if (s0) s0[i] = a;
      if (s1) s1[i] = b;
      if (s2) s2[i] = c;
    }
  }
}

// Σ g² per block over its chunks (float within a chunk, double across), in block order.
__global__ void __launch_bounds__(kThreads) grad_sumsq_kernel(const Entry* table, int tensors, int64_t chunks,
                                                              double* partials) {
  double sum = 0;
  for (int64_t chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
    const Entry& e = entry_of(table, tensors, chunk);
    const int64_t begin = (chunk - e.first_chunk) * kChunk;
    const int64_t end = min(e.n, begin + kChunk);
    float part = 0.f;
    for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
      const float v = __ldg(e.g + i);
      part += v * v;
    }
    sum += part;
  }
  store_block_sum(sum, partials);
}

// PyTorch's clip_grad_norm_: scale = grad_scale·min(1, max_norm / (norm + 1e-6)).
struct ClipScale {
  float grad_scale, max_norm;
  float* norm;
  float* scale;
  __device__ void operator()(double total) const {
    const double n = sqrt(total) * double(grad_scale);
    const double coef = double(max_norm) / (n + 1e-6);
    *norm = float(n);
    *scale = float(double(grad_scale) * (coef < 1.0 ? coef : 1.0));
  }
};

// A staged step's check (step_health.h): the loss and Σ g² finite, else the step is refused — and
// with halt_on_nonfinite every later one too; the loss kept, and summed when finite.
struct CheckFinite {
  const float* loss;
  StepHealth* h;
  __device__ void operator()(double sumsq) const {
    const float l = *loss;
    const bool finite = hd_isfinite(l) && hd_isfinite(sumsq);
    if (!finite && h->first_nonfinite < 0) {
      h->first_nonfinite = h->seen;
      h->first_nonfinite_loss = l;
    }
    if (!finite && h->halt_on_nonfinite) h->halted = 1;
    const bool take = finite && !h->halted;
    if (hd_isfinite(l) && !h->halted) {
      h->loss_sum += double(l);
      ++h->finite_losses;
    }
    if (!take) ++h->refused;
    h->skip = take ? 0 : 1;
    h->losses[h->seen % StepHealth::kLosses] = l;
    ++h->seen;
  }
};

}  // namespace

FusedUpdate::FusedUpdate(const std::vector<Optimizer::Slot>& slots, int device) : device_(device) {
  std::vector<Entry> table;
  for (const Optimizer::Slot& slot : slots) {
    Entry e{};
    e.w = slot.param.value.data<float>();
    e.g = slot.param.grad.data<float>();
    for (int k = 0; k < 3; ++k) e.s[k] = slot.state[k].defined() ? slot.state[k].data<float>() : nullptr;
    e.n = slot.param.value.numel();
    e.first_chunk = chunks_;
    e.group = slot.group;
    chunks_ += (e.n + kChunk - 1) / kChunk;
    table.push_back(e);
  }
  tensors_ = int(table.size());
  int sms = 0;
  CUSEG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  blocks_ = int(std::max<int64_t>(1, std::min<int64_t>(chunks_, int64_t(sms) * 8)));
  cudaStream_t s = stream(device);
  table_ = Scratch(sizeof(Entry) * table.size(), device);
  CUSEG_CUDA_CHECK(cudaMemcpyAsync(table_.data(), table.data(), sizeof(Entry) * table.size(),
                                   cudaMemcpyHostToDevice, s));
  partials_ = Scratch(sizeof(double) * size_t(blocks_), device);
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));  // `table` (host) goes out of scope
}

void FusedUpdate::clip_scale(float grad_scale, float max_norm, float* norm, float* scale) {
  cudaStream_t s = stream(device_);
  double* partials = partials_.as<double>();
  CUSEG_LAUNCH(grad_sumsq_kernel, unsigned(blocks_), kThreads, 0, s, table_.as<const Entry>(),
               tensors_, chunks_, partials);
  CUSEG_LAUNCH(flat_finish_kernel<ClipScale>, 1, 1, 0, s, partials, blocks_,
               ClipScale{grad_scale, max_norm, norm, scale});
}

void FusedUpdate::stage(const std::vector<StepHyper<float>>& hypers) {
  CUSEG_CHECK(hypers.size() <= size_t(kMaxParamGroups), "fused update: ", hypers.size(), " groups, at most ",
              kMaxParamGroups);
  if (!staged_.data()) staged_ = Scratch(sizeof(StepHyper<float>) * kMaxParamGroups, device_);
  // From pageable memory: CUDA copies it out before returning, so `hypers` may go at once.
  CUSEG_CUDA_CHECK(cudaMemcpyAsync(staged_.data(), hypers.data(), sizeof(StepHyper<float>) * hypers.size(),
                                   cudaMemcpyHostToDevice, stream(device_)));
}

void FusedUpdate::check_finite(const float* loss, StepHealth* health) {
  cudaStream_t s = stream(device_);
  double* partials = partials_.as<double>();
  CUSEG_LAUNCH(grad_sumsq_kernel, unsigned(blocks_), kThreads, 0, s, table_.as<const Entry>(), tensors_, chunks_,
               partials);
  CUSEG_LAUNCH(flat_finish_kernel<CheckFinite>, 1, 1, 0, s, partials, blocks_, CheckFinite{loss, health});
}

void FusedUpdate::step(OptimizerKind kind, const std::vector<StepHyper<float>>& hypers, float scale,
                       const float* scale_on_device) {
  CUSEG_CHECK(hypers.size() <= size_t(kMaxParamGroups), "fused update: ", hypers.size(), " groups, at most ",
              kMaxParamGroups);
  launch(kind, hypers, nullptr, nullptr, scale, scale_on_device);
}

void FusedUpdate::step_staged(OptimizerKind kind, float scale, const float* scale_on_device, const int* skip) {
  CUSEG_CHECK(staged_.data(), "fused update: step_staged before stage");
  launch(kind, {}, staged_.as<const StepHyper<float>>(), skip, scale, scale_on_device);
}

void FusedUpdate::launch(OptimizerKind kind, const std::vector<StepHyper<float>>& hypers,
                         const StepHyper<float>* hyper_on_device, const int* skip, float scale,
                         const float* scale_on_device) {
  StepArgs args{};
  for (size_t i = 0; i < hypers.size(); ++i) args.hyper[i] = hypers[i];
  args.hyper_on_device = hyper_on_device;
  args.skip = skip;
  args.zero_grad = hyper_on_device != nullptr;
  args.table = table_.as<const Entry>();
  args.tensors = tensors_;
  args.chunks = chunks_;
  args.scale = scale;
  args.scale_on_device = scale_on_device;
  cudaStream_t s = stream(device_);
  switch (kind) {
    case OptimizerKind::Sgd:
      CUSEG_LAUNCH(fused_update_kernel<OptimizerKind::Sgd>, unsigned(blocks_), kThreads, 0, s,
                   args);
      break;
    case OptimizerKind::Adagrad:
      CUSEG_LAUNCH(fused_update_kernel<OptimizerKind::Adagrad>, unsigned(blocks_), kThreads, 0, s,
                   args);
      break;
    case OptimizerKind::Rmsprop:
      CUSEG_LAUNCH(fused_update_kernel<OptimizerKind::Rmsprop>, unsigned(blocks_), kThreads, 0, s,
                   args);
      break;
    case OptimizerKind::Adam:
      CUSEG_LAUNCH(fused_update_kernel<OptimizerKind::Adam>, unsigned(blocks_), kThreads, 0, s,
                   args);
      break;
  }
}

}  // namespace cuseg::cuda
