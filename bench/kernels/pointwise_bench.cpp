// Pointwise ops at a U-Net activation size (16×256×256×32), and the decoder's 2× resizing
// (16×128×128×32 → 256×256), in bytes/s (bytes read plus written), beside a device-to-device
// copy of the same tensor. The broadcast products are attention's: s [N,1,1,C] (channel) and
// s [N,H,W,1] (spatial), whose bytes are x's (s is small beside it).
#include "bench_util.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/concat.h"
#include "cuseg/kernels/dice.h"
#include "cuseg/kernels/elementwise_loss.h"
#include "cuseg/kernels/reduce.h"
#include "cuseg/kernels/softmax.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/elementwise.h"
#include "cuseg/kernels/multiply.h"
#include "cuseg/kernels/upsample.h"

namespace cuseg::bench {

void register_benchmarks() {
  for (const Impl& impl : implementations()) {
    const Shape s{impl.device.is_cpu() ? 2 : 16, 256, 256, 32};
    const double bytes = 4.0 * double(s.numel());
    const std::string shape = "/" + impl.name + "/N" + std::to_string(s[0]) + "_H256_W256_C32";
    auto add_bench = [&](const std::string& name, double moved, auto body) {
      auto* b = benchmark::RegisterBenchmark((name + shape).c_str(), [=](benchmark::State& state) {
        Tensor x = random(s, impl.device, 1), y = random(s, impl.device, 2), z = random(s, impl.device, 3);
        Tensor mask = Tensor::zeros(s, DType::U8, impl.device);
        run(state, impl, [&] { body(x, y, z, mask); });
        set_bytes(state, moved);
      });
      b->Unit(benchmark::kMicrosecond);
      if (impl.device.is_cuda()) b->UseManualTime();
    };
    for (ActivationKind kind :
         {ActivationKind::Relu, ActivationKind::Sigmoid, ActivationKind::LeakyRelu, ActivationKind::Silu}) {
      if (impl.backend == Backend::Cudnn && kind == ActivationKind::LeakyRelu) continue;
      const ActivationParams p{kind, 0.1};
      const Backend backend = impl.backend;
      add_bench(std::string(activation_name(kind)) + "_forward", 2 * bytes,
                [=](Tensor& x, Tensor& y, Tensor&, Tensor&) { activation_forward(x, y, p, backend); });
      // SiLU's backward reads x and dy (y stands in for dy here), the others' y and dy.
      add_bench(std::string(activation_name(kind)) + "_backward", 3 * bytes,
                [=](Tensor& x, Tensor& y, Tensor& z, Tensor&) {
                  if (activation_needs_input(p.kind))
                    activation_backward(x, y, y, z, p, backend);
                  else
                    activation_backward(x, y, z, p, backend);
                });
    }
    // Batch norm: the least traffic is x in, y out (forward) and x, dy in, dx out (backward); the
    // statistics passes read x again, so these rates understate the bandwidth actually used.
    const Backend backend = impl.backend;
    auto* bn_fwd = benchmark::RegisterBenchmark(("batch_norm_forward_training" + shape).c_str(), [=](benchmark::State& state) {
      Tensor x = random(s, impl.device), y = random(s, impl.device, 2);
      std::vector<Tensor> v;
      for (int i = 0; i < 6; ++i) v.push_back(Tensor::full(Shape{32}, 1.0, DType::F32, impl.device));
      run(state, impl, [&] { batch_norm_forward_training(x, v[0], v[1], y, v[2], v[3], v[4], v[5], {}, backend); });
      set_bytes(state, 2 * bytes);
    });
    auto* bn_bwd = benchmark::RegisterBenchmark(("batch_norm_backward" + shape).c_str(), [=](benchmark::State& state) {
      Tensor x = random(s, impl.device), dy = random(s, impl.device, 2), dx = random(s, impl.device, 3);
      std::vector<Tensor> v;
      for (int i = 0; i < 5; ++i) v.push_back(Tensor::full(Shape{32}, 1.0, DType::F32, impl.device));
      run(state, impl, [&] { batch_norm_backward(x, dy, v[0], v[1], v[2], dx, v[3], v[4], {}, backend); });
      set_bytes(state, 3 * bytes);
    });
    for (auto* b : {bn_fwd, bn_bwd}) {
      b->Unit(benchmark::kMicrosecond);
      if (impl.device.is_cuda()) b->UseManualTime();
    }
    if (impl.backend == Backend::Cudnn) continue;
    for (const auto& [name, factor] : {std::pair<const char*, Shape>{"multiply_channel", Shape{s[0], 1, 1, s[3]}},
                                       std::pair<const char*, Shape>{"multiply_spatial", Shape{s[0], s[1], s[2], 1}}}) {
      auto* fwd = benchmark::RegisterBenchmark((std::string(name) + "_forward" + shape).c_str(),
                                               [=, f = factor](benchmark::State& state) {
                                                 Tensor x = random(s, impl.device), y = random(s, impl.device, 2);
                                                 Tensor sc = random(f, impl.device, 3);
                                                 run(state, impl, [&] { multiply_forward(x, sc, y, impl.backend); });
                                                 set_bytes(state, 2 * bytes);
                                               });
      auto* bwd = benchmark::RegisterBenchmark((std::string(name) + "_backward" + shape).c_str(),
                                               [=, f = factor](benchmark::State& state) {
                                                 Tensor x = random(s, impl.device), dy = random(s, impl.device, 2);
                                                 Tensor dx = random(s, impl.device, 3), sc = random(f, impl.device, 4);
                                                 Tensor ds = random(f, impl.device, 5);
                                                 run(state, impl, [&] { multiply_backward(x, sc, dy, dx, ds, impl.backend); });
                                                 set_bytes(state, 3 * bytes);
                                               });
      for (auto* b : {fwd, bwd}) {
        b->Unit(benchmark::kMicrosecond);
        if (impl.device.is_cuda()) b->UseManualTime();
      }
    }
    add_bench("add", 3 * bytes, [](Tensor& x, Tensor& y, Tensor& z, Tensor&) { add(x, y, z); });
    add_bench("axpy", 3 * bytes, [](Tensor& x, Tensor& y, Tensor&, Tensor&) { axpy(0.5, x, y); });
    add_bench("dropout_forward", 2 * bytes + bytes / 4,
              [](Tensor& x, Tensor& y, Tensor&, Tensor& m) { dropout_forward(x, y, m, {0.5, 1, 0}); });
    add_bench("dropout_backward", 2 * bytes + bytes / 4,
              [](Tensor& x, Tensor& y, Tensor&, Tensor& m) { dropout_backward(x, m, y, {0.5, 1, 0}); });
    add_bench("device_copy", 2 * bytes, [](Tensor& x, Tensor& y, Tensor&, Tensor&) { y.copy_from(x); });
    add_bench("scale", 2 * bytes, [](Tensor& x, Tensor& y, Tensor&, Tensor&) { scale(x, 0.5, y); });
    add_bench("reduce_sum", bytes, [](Tensor& x, Tensor&, Tensor&, Tensor&) {
      Tensor out = Tensor::empty(Shape{1}, DType::F32, x.device());
      reduce_sum(x, out);
    });
    add_bench("mse_loss_forward", 2 * bytes, [](Tensor& x, Tensor& y, Tensor&, Tensor&) {
      Tensor out = Tensor::empty(Shape{1}, DType::F32, x.device());
      elementwise_loss_forward(x, y, Tensor(), out, {ElementwiseLossKind::Mse});
    });
    add_bench("bce_loss_backward", 3 * bytes, [](Tensor& x, Tensor& y, Tensor& z, Tensor&) {
      elementwise_loss_backward(x, y, Tensor(), z, 1.0, {ElementwiseLossKind::Bce});
    });
    // The decoder's concat of two 16-channel halves into 32 channels, and its backward split.
    auto* cat = benchmark::RegisterBenchmark(("concat_channels" + shape).c_str(), [=](benchmark::State& state) {
      const Shape half{s[0], s[1], s[2], 16};
      std::vector<Tensor> parts = {random(half, impl.device), random(half, impl.device, 2)};
      Tensor out = random(s, impl.device, 3);
      run(state, impl, [&] { concat_channels(parts, out); });
      set_bytes(state, 2 * bytes);
    });
    auto* split = benchmark::RegisterBenchmark(("split_channels" + shape).c_str(), [=](benchmark::State& state) {
      const Shape half{s[0], s[1], s[2], 16};
      std::vector<Tensor> parts = {random(half, impl.device), random(half, impl.device, 2)};
      Tensor in = random(s, impl.device, 3);
      run(state, impl, [&] { split_channels(in, parts); });
      set_bytes(state, 2 * bytes);
    });
    // Losses over 4-class logits of the same pixel count.
    const Shape logits{s[0], s[1], s[2], 4};
    const double logit_bytes = 4.0 * double(logits.numel());
    auto* dice = benchmark::RegisterBenchmark(("dice_forward_backward" + shape).c_str(), [=](benchmark::State& state) {
      Tensor x = random(logits, impl.device), dx = random(logits, impl.device, 2);
      Tensor labels = Tensor::zeros(Shape{s[0], s[1], s[2]}, DType::U8, impl.device);
      Tensor loss = Tensor::empty(Shape{1}, DType::F32, impl.device), stats = Tensor::empty(Shape{2, 4}, DType::F32, impl.device);
      run(state, impl, [&] {
        dice_forward(x, labels, loss, stats);
        dice_backward(x, labels, stats, dx);
      });
      set_bytes(state, 3 * logit_bytes);
    });
    for (auto* b : {cat, split, dice}) {
      b->Unit(benchmark::kMicrosecond);
      if (impl.device.is_cuda()) b->UseManualTime();
    }
    for (UpsampleMode mode : {UpsampleMode::Nearest, UpsampleMode::Bilinear, UpsampleMode::BilinearAlignCorners}) {
      const std::string name = mode == UpsampleMode::Nearest    ? "upsample_nearest"
                               : mode == UpsampleMode::Bilinear ? "upsample_bilinear"
                                                                : "upsample_bilinear_align_corners";
      const Shape small{s[0], 128, 128, 32};
      auto* fwd = benchmark::RegisterBenchmark((name + "_forward" + shape).c_str(), [=](benchmark::State& state) {
        Tensor x = random(small, impl.device), y = random(s, impl.device);
        run(state, impl, [&] { upsample_forward(x, y, mode); });
        set_bytes(state, 1.25 * bytes);
      });
      auto* bwd = benchmark::RegisterBenchmark((name + "_backward" + shape).c_str(), [=](benchmark::State& state) {
        Tensor dx = random(small, impl.device), dy = random(s, impl.device);
        run(state, impl, [&] { upsample_backward(dy, dx, mode); });
        set_bytes(state, 1.25 * bytes);
      });
      for (auto* b : {fwd, bwd}) {
        b->Unit(benchmark::kMicrosecond);
        if (impl.device.is_cuda()) b->UseManualTime();
      }
    }
  }
}

}  // namespace cuseg::bench
