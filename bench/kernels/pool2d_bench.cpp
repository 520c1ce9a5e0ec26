// Pooling at U-Net shapes (2×2 stride 2), and global average pooling, forward and backward, in bytes/s (bytes read plus
// bytes written, the least any implementation must move). cuDNN's max pooling keeps no argmax
// and re-reads x and y in backward; it is timed through its own entry points.
#include "bench_util.h"
#include "cuseg/kernels/adaptive_pool2d.h"
#include "cuseg/kernels/pool2d.h"
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/pool2d.h"
#include "cuseg/kernels/geometry.h"
#endif

namespace cuseg::bench {
namespace {

struct PoolShape {
  int n, h, w, c;
};
constexpr PoolShape kShapes[] = {
    {16, 256, 256, 32}, {16, 256, 256, 64}, {16, 128, 128, 64}, {16, 64, 64, 128}};

}  // namespace

void register_benchmarks() {
  const Pool2dParams p{2, 2, 2, 2, 0, 0, true};
  for (const Impl& impl : implementations()) {
    for (const PoolShape& s : kShapes) {
      const int n = impl.device.is_cpu() ? 2 : s.n;
      const Shape xs{n, s.h, s.w, s.c};
      const Shape ys = pool2d_output_shape(xs, p);
      const std::string suffix = "/" + impl.name + "/N" + std::to_string(n) + "_H" +
                                 std::to_string(s.h) + "_W" + std::to_string(s.w) + "_C" +
                                 std::to_string(s.c);
      auto finish = [&](benchmark::internal::Benchmark* b) {
        b->Unit(benchmark::kMicrosecond);
        if (impl.device.is_cuda()) b->UseManualTime();
      };
      const double x_bytes = 4.0 * double(xs.numel()), y_bytes = 4.0 * double(ys.numel());
      // Ours: forward reads x, writes y and argmax; backward reads dy and argmax, writes dx.
      // cuDNN: forward reads x, writes y; backward reads x, y and dy, writes dx.
      const bool cudnn = impl.backend == Backend::Cudnn;
      finish(benchmark::RegisterBenchmark(
          ("max_pool2d_forward" + suffix).c_str(), [=](benchmark::State& state) {
            Tensor x = random(xs, impl.device), y = random(ys, impl.device);
            Tensor argmax = Tensor::zeros(ys, DType::I32, impl.device);
            run(state, impl, [&] {
#if CUSEG_HAS_CUDNN
              if (cudnn) {
                const PoolGeometry g{n, s.h, s.w, s.c, int(ys[1]), int(ys[2]), 2,
                                     2, 2,   2,   0,   0,          true};
                cudnn::max_pool2d_forward(x.data<float>(), y.data<float>(), g, impl.device.index);
                return;
              }
#endif
              max_pool2d_forward(x, y, argmax, p, impl.backend);
            });
            set_bytes(state, x_bytes + y_bytes + (cudnn ? 0 : y_bytes));
          }));
      finish(benchmark::RegisterBenchmark(
          ("max_pool2d_backward" + suffix).c_str(), [=](benchmark::State& state) {
            Tensor x = random(xs, impl.device), y = random(ys, impl.device),
                   dy = random(ys, impl.device, 2);
            Tensor dx = random(xs, impl.device, 3);
            Tensor argmax = Tensor::zeros(ys, DType::I32, impl.device);
            max_pool2d_forward(x, y, argmax, p, cudnn ? Backend::Cuda : impl.backend);
            run(state, impl, [&] {
#if CUSEG_HAS_CUDNN
              if (cudnn) {
                const PoolGeometry g{n, s.h, s.w, s.c, int(ys[1]), int(ys[2]), 2,
                                     2, 2,   2,   0,   0,          true};
                cudnn::max_pool2d_backward(x.data<float>(), y.data<float>(), dy.data<float>(),
                                           dx.data<float>(), g, impl.device.index);
                return;
              }
#endif
              max_pool2d_backward(dy, argmax, dx, p, impl.backend);
            });
            set_bytes(state, x_bytes + 2 * y_bytes + (cudnn ? x_bytes : 0));
          }));
      finish(benchmark::RegisterBenchmark(
          ("avg_pool2d_forward" + suffix).c_str(), [=](benchmark::State& state) {
            Tensor x = random(xs, impl.device), y = random(ys, impl.device);
            run(state, impl, [&] { avg_pool2d_forward(x, y, p, impl.backend); });
            set_bytes(state, x_bytes + y_bytes);
          }));
      finish(benchmark::RegisterBenchmark(
          ("avg_pool2d_backward" + suffix).c_str(), [=](benchmark::State& state) {
            Tensor dy = random(ys, impl.device), dx = random(xs, impl.device);
            run(state, impl, [&] { avg_pool2d_backward(dy, dx, p, impl.backend); });
            set_bytes(state, x_bytes + y_bytes);
          }));
    }
    // Global average pooling (adaptive to 1×1): an encoder's last features (ResNet-50's 7×7×2048,
    // EfficientNet's head) and DeepLabV3+'s image pooling over ASPP-sized features. Reads x, writes
    // a vector per image (backward the reverse).
    for (const PoolShape& s : {PoolShape{16, 7, 7, 2048}, PoolShape{16, 32, 32, 256}, PoolShape{16, 64, 64, 256}}) {
      const int n = impl.device.is_cpu() ? 2 : s.n;
      const Shape xs{n, s.h, s.w, s.c}, ys{n, 1, 1, s.c};
      const std::string suffix = "/" + impl.name + "/N" + std::to_string(n) + "_H" + std::to_string(s.h) + "_W" +
                                 std::to_string(s.w) + "_C" + std::to_string(s.c);
      const double bytes = 4.0 * double(xs.numel() + ys.numel());
      for (bool backward : {false, true}) {
        auto* b = benchmark::RegisterBenchmark(
            ((backward ? "global_avg_pool2d_backward" : "global_avg_pool2d_forward") + suffix).c_str(),
            [=](benchmark::State& state) {
              Tensor x = random(xs, impl.device), y = random(ys, impl.device);
              run(state, impl, [&] {
                if (backward)
                  adaptive_avg_pool2d_backward(y, x, impl.backend);
                else
                  adaptive_avg_pool2d_forward(x, y, impl.backend);
              });
              set_bytes(state, bytes);
            });
        b->Unit(benchmark::kMicrosecond);
        if (impl.device.is_cuda()) b->UseManualTime();
      }
    }
  }
}

}  // namespace cuseg::bench
