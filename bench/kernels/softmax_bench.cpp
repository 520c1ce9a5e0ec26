// Softmax, log-softmax and softmax cross-entropy over the channels of NHWC tensors, in bytes/s
// (bytes read plus written, the least any implementation must move), beside a device-to-device
// copy of the same tensor: the copy's bytes/s is the bandwidth the others are measured against.
#include "bench_util.h"
#include "cuseg/kernels/softmax.h"

namespace cuseg::bench {
namespace {

constexpr int kShapes[][4] = {{16, 256, 256, 64}, {16, 256, 256, 21}, {16, 256, 256, 2}};

std::string suffix(const Impl& impl, const Shape& s) {
  return "/" + impl.name + "/N" + std::to_string(s[0]) + "_H" + std::to_string(s[1]) + "_W" +
         std::to_string(s[2]) + "_C" + std::to_string(s[3]);
}

void finish(benchmark::internal::Benchmark* b, const Impl& impl) {
  b->Unit(benchmark::kMicrosecond);
  if (impl.device.is_cuda()) b->UseManualTime();
}

}  // namespace

void register_benchmarks() {
  for (const Impl& impl : implementations()) {
    for (const auto& d : kShapes) {
      const Shape s{impl.device.is_cpu() ? 2 : d[0], d[1], d[2], d[3]};
      const double bytes = 4.0 * double(s.numel());
      if (impl.backend != Backend::Cudnn) {
        finish(benchmark::RegisterBenchmark(("device_copy" + suffix(impl, s)).c_str(),
                                            [=](benchmark::State& state) {
                                              Tensor x = random(s, impl.device),
                                                     y = random(s, impl.device);
                                              run(state, impl, [&] { y.copy_from(x); });
                                              set_bytes(state, 2 * bytes);
                                            }),
               impl);
      }
      for (bool log : {false, true}) {
        const std::string fwd_name = log ? "log_softmax_forward" : "softmax_forward";
        const std::string bwd_name = log ? "log_softmax_backward" : "softmax_backward";
        finish(benchmark::RegisterBenchmark(
                   (fwd_name + suffix(impl, s)).c_str(),
                   [=](benchmark::State& state) {
                     Tensor x = random(s, impl.device), y = random(s, impl.device);
                     run(state, impl, [&] {
                       (log ? log_softmax_forward : softmax_forward)(x, y, impl.backend);
                     });
                     set_bytes(state, 2 * bytes);
                   }),
               impl);
        finish(benchmark::RegisterBenchmark(
                   (bwd_name + suffix(impl, s)).c_str(),
                   [=](benchmark::State& state) {
                     Tensor y = random(s, impl.device), dy = random(s, impl.device, 2),
                            dx = random(s, impl.device, 3);
                     run(state, impl, [&] {
                       (log ? log_softmax_backward : softmax_backward)(y, dy, dx, impl.backend);
                     });
                     set_bytes(state, 3 * bytes);
                   }),
               impl);
      }
      if (impl.backend == Backend::Cudnn) continue;  // cuDNN has no cross-entropy
      const Shape ls{s[0], s[1], s[2]};
      const double label_bytes = double(ls.numel());
      finish(benchmark::RegisterBenchmark(
                 ("softmax_cross_entropy_forward" + suffix(impl, s)).c_str(),
                 [=](benchmark::State& state) {
                   Tensor x = random(s, impl.device);
                   Tensor labels = Tensor::zeros(ls, DType::U8, impl.device);
                   Tensor loss = random(Shape{1}, impl.device), ws = random(Shape{1}, impl.device);
                   run(state, impl, [&] {
                     softmax_cross_entropy_forward(x, labels, Tensor(), loss, ws, {}, impl.backend);
                   });
                   set_bytes(state, bytes + label_bytes);
                 }),
             impl);
      finish(benchmark::RegisterBenchmark(
                 ("softmax_cross_entropy_backward" + suffix(impl, s)).c_str(),
                 [=](benchmark::State& state) {
                   Tensor x = random(s, impl.device), dx = random(s, impl.device, 2);
                   Tensor labels = Tensor::zeros(ls, DType::U8, impl.device);
                   Tensor ws = Tensor::full(Shape{1}, double(ls.numel()), DType::F32, impl.device);
                   run(state, impl, [&] {
                     softmax_cross_entropy_backward(x, labels, Tensor(), ws, dx, 1.0, {},
                                                    impl.backend);
                   });
                   set_bytes(state, 2 * bytes + label_bytes);
                 }),
             impl);
    }
  }
}

}  // namespace cuseg::bench
