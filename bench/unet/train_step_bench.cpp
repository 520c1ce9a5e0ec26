// The whole unet-s training step — forward, cross-entropy + gradient, backward — as a training
// loop runs it: CPU at base 16 on 1×64×64 images, batch 16; GPU at base 32 on 3×256×256, batch
// 16, once with cuseg's kernels and once with the cuDNN path. Reports images/s and the model's
// FLOP/s (forward FLOPs × 3 for forward + backward). bench/torch_unet_step.py times the same
// model and step in PyTorch.
#include "bench_util.h"
#include "cuseg/layers/unet.h"
#include "cuseg/losses/loss.h"

namespace cuseg::bench {

void register_benchmarks() {
  for (const Impl& impl : implementations()) {
    const bool gpu = impl.device.is_cuda();
    const int base = gpu ? 32 : 16, size = gpu ? 256 : 64, channels = gpu ? 3 : 1, batch = 16, classes = 4;
    const std::string name = str_cat("unet_s_train_step/", impl.name, "/base", base, "_", channels, "x", size, "x", size,
                                     "_batch", batch);
    auto* b = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
      auto net = build_unet(ModelConfig::unet_s(channels, classes, base));
      net->to(impl.device);
      net->set_backend(impl.backend);
      const Shape shape{batch, size, size, channels};
      Tensor image = random(shape, impl.device, 1);
      std::vector<int32_t> labels(size_t(batch) * size * size);
      for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i * 7 % classes);
      Tensor label_tensor = Tensor::from_vector(labels, Shape{batch, size, size}, impl.device);
      auto loss_fn = make_loss("ce");
      Tensor loss = Tensor::empty(Shape{1}, DType::F32, impl.device);
      Tensor dlogits = Tensor::empty(Shape{batch, size, size, classes}, DType::F32, impl.device);
      const double flops = 3 * net->flops({{"image", shape}});
      run(state, impl, [&] {
        net->zero_grad();
        net->forward({{"image", image}});
        loss_fn->compute(net->get("logits"), label_tensor, loss, dlogits, 1.0);
        net->backward({{"logits", dlogits}});
      });
      state.counters["images/s"] = benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
      set_flops(state, flops);
    });
    b->Unit(benchmark::kMillisecond);
    if (gpu) {
      b->UseManualTime()->MinTime(2.0);
    } else {
      b->Iterations(2);
    }
  }
}

}  // namespace cuseg::bench
