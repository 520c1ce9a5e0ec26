#include "bench_util.h"

namespace cuseg::bench {

std::vector<Impl> implementations(bool with_cudnn) {
  std::vector<Impl> out = {{"reference", Device::cpu(), Backend::Reference}};
  if (CUSEG_HAS_ONEDNN) out.push_back({"fast", Device::cpu(), Backend::Fast});
  if (cuda_available()) {
    out.push_back({"cuda", Device::cuda(0), Backend::Cuda});
    if (with_cudnn && CUSEG_HAS_CUDNN) out.push_back({"cudnn", Device::cuda(0), Backend::Cudnn});
  }
  return out;
}

namespace {
// Larger than any current GPU's L2 (50 MB on H100, 60 MB on H200... ) with room to spare.
constexpr int64_t kFlushFloats = 64 << 20;  // 256 MiB
}  // namespace

void run(benchmark::State& state, const Impl& impl, const std::function<void()>& op) {
  if (impl.device.is_cpu()) {
    for (auto _ : state) op();
    return;
  }
  static Tensor flush = Tensor::empty(Shape{kFlushFloats}, DType::F32, impl.device);
  op();  // warm-up: first-call costs (cuDNN's algorithm search, pool growth) untimed
  synchronize(impl.device);
  for (auto _ : state) {
    flush.fill(0.0);
    synchronize(impl.device);
    const auto start = std::chrono::steady_clock::now();
    op();
    synchronize(impl.device);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["FLOP/s"] = benchmark::Counter(
      flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void set_bytes(benchmark::State& state, double bytes) {
  state.counters["bytes/s"] = benchmark::Counter(
      bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1024);
}

Tensor random(const Shape& shape, const Device& device, uint64_t seed) {
  Tensor t = Tensor::empty(shape, DType::F32, device);
  t.fill_uniform(seed, -1, 1);
  return t;
}

}  // namespace cuseg::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  cuseg::bench::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
