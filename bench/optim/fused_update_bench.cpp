// The fused optimizer step: 1M, 10M and 100M parameters split into 50 tensors (about unet-s's
// count), Adam + elastic net and SGD + L2, in bytes/s counting each element's minimum traffic:
//   Adam:  read w, g, m, v; write w, m, v   = 28 bytes per parameter
//   SGD:   read w, g;       write w         = 12 bytes per parameter
// beside a device-to-device copy of 100M floats (8 bytes per element moved) for the bandwidth
// the step is measured against. The "launches" counter is the kernels one step launched.
#include "bench_util.h"
#include "cuseg/core/cuda/launch_count.h"
#include "cuseg/optim/optimizer.h"

namespace cuseg::bench {

namespace {

constexpr int kTensors = 50;

struct Setup {
  std::vector<Tensor> keep;
  std::vector<ParamRef> params;
};

Setup make_params(int64_t total, const Device& device) {
  Setup s;
  const int64_t each = total / kTensors;
  for (int i = 0; i < kTensors; ++i) {
    const int64_t n = i == kTensors - 1 ? total - each * (kTensors - 1) : each;
    Tensor w = random(Shape{n, 1}, device, uint64_t(i)), g = random(Shape{n, 1}, device, uint64_t(100 + i));
    s.params.push_back({str_cat("p", i), w, g});
  }
  return s;
}

}  // namespace

void register_benchmarks() {
  for (const Impl& impl : implementations(/*with_cudnn=*/false)) {
    for (int64_t millions : {1, 10, 100}) {
      for (const bool adam : {true, false}) {
        const std::string name = std::string(adam ? "adam_elastic" : "sgd_l2") + "/" + impl.name + "/" +
                                 std::to_string(millions) + "M";
        auto* b = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
          const int64_t total = millions * 1000000;
          Setup s = make_params(total, impl.device);
          OptimizerConfig c = OptimizerConfig::named(adam ? "adam" : "sgd");
          c.penalty = adam ? Penalty::elastic(1e-5, 1e-4) : Penalty::ridge(1e-4);
          Optimizer opt(c, s.params);
          run(state, impl, [&] { opt.step(1e-3); });
          set_bytes(state, double(total) * (adam ? 28 : 12));
          if (impl.device.is_cuda())
            state.counters["launches"] = double(cuda::count_kernel_launches(impl.device, [&] { opt.step(1e-3); }));
        });
        b->Unit(benchmark::kMillisecond);
        if (impl.device.is_cuda()) b->UseManualTime();
      }
    }
    auto* copy = benchmark::RegisterBenchmark(("device_copy/" + impl.name + "/100M").c_str(), [=](benchmark::State& state) {
      Tensor x = random(Shape{100000000}, impl.device), y = random(Shape{100000000}, impl.device, 2);
      run(state, impl, [&] { y.copy_from(x); });
      set_bytes(state, 8.0 * 1e8);
    });
    copy->Unit(benchmark::kMillisecond);
    if (impl.device.is_cuda()) copy->UseManualTime();
  }
}

}  // namespace cuseg::bench
