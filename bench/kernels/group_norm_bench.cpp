// Group normalization at FPN's shapes (SMP's FPN segmentation blocks: GroupNorm(32, 128) on
// 1/4-resolution maps; N = 8, 64×64, C = 128 on the CPU), forward and forward + backward, and
// channel dropout at the same shape, on every implementation this machine has. An implementation
// an op lacks runs its device's own (kernels/op.h), so "fast" is the reference where there is no
// fast GroupNorm: the two lines then measure the same code.
#include "bench_util.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/group_norm.h"

namespace cuseg::bench {

void register_benchmarks() {
  for (const Impl& impl : implementations(false)) {
    const Shape s{8, 64, 64, 128}, c{128}, stats{8, 32};
    const GroupNormParams p{32, 1e-5};
    const double bytes = 4.0 * double(s.numel());
    const std::string shape = "/" + impl.name + "/N8_H64_W64_C128_G32";
    const Backend backend = impl.backend;
    auto* fwd = benchmark::RegisterBenchmark(
        ("group_norm_forward" + shape).c_str(), [=](benchmark::State& state) {
          Tensor x = random(s, impl.device), y = random(s, impl.device, 2);
          Tensor gamma = random(c, impl.device, 3), beta = random(c, impl.device, 4);
          Tensor mean = Tensor::empty(stats, DType::F32, impl.device),
                 invstd = Tensor::empty(stats, DType::F32, impl.device);
          run(state, impl,
              [&] { group_norm_forward(x, gamma, beta, y, mean, invstd, p, backend); });
          set_bytes(state, 3 * bytes);  // x read twice (statistics, then y), y written
        });
    // Forward + backward, plain and fused with ReLU (FPN's GN + ReLU).
    auto forward_backward = [=](const std::string& name, bool relu) {
      return benchmark::RegisterBenchmark((name + shape).c_str(), [=](benchmark::State& state) {
        Tensor x = random(s, impl.device), y = random(s, impl.device, 2),
               dy = random(s, impl.device, 5);
        Tensor dx = random(s, impl.device, 6);
        Tensor gamma = random(c, impl.device, 3), beta = random(c, impl.device, 4);
        Tensor dgamma = Tensor::zeros(c, DType::F32, impl.device),
               dbeta = Tensor::zeros(c, DType::F32, impl.device);
        Tensor mean = Tensor::empty(stats, DType::F32, impl.device);
        Tensor invstd = Tensor::empty(stats, DType::F32, impl.device);
        run(state, impl, [&] {
          if (relu) {
            group_norm_relu_forward(x, gamma, beta, y, mean, invstd, p, backend);
            group_norm_relu_backward(x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta, p, backend);
          } else {
            group_norm_forward(x, gamma, beta, y, mean, invstd, p, backend);
            group_norm_backward(x, dy, gamma, mean, invstd, dx, dgamma, dbeta, p, backend);
          }
        });
        set_bytes(state, 8 * bytes);  // forward 3; backward reads x, dy twice, writes dx
      });
    };
    auto* both = forward_backward("group_norm_forward_backward", false);
    auto* both_relu = forward_backward("group_norm_relu_forward_backward", true);
    auto* drop = benchmark::RegisterBenchmark(
        ("dropout2d_forward" + shape).c_str(), [=](benchmark::State& state) {
          Tensor x = random(s, impl.device), y = random(s, impl.device, 2);
          Tensor mask = Tensor::zeros(group_dropout_mask_shape(s, true), DType::U8, impl.device);
          run(state, impl, [&] { dropout2d_forward(x, y, mask, {0.2, 1, 0}, backend); });
          set_bytes(state, 2 * bytes);
        });
    for (auto* b : {fwd, both, both_relu, drop}) {
      b->Unit(benchmark::kMicrosecond);
      if (impl.device.is_cuda()) b->UseManualTime();
    }
  }
}

}  // namespace cuseg::bench
