// Convolution at U-Net shapes: forward, backward-data and backward-filter, 3×3 pad 1; the
// decoder's 2×2 stride-2 transposed convolutions; bias forward and backward. Our CUDA kernels vs
// cuDNN (FP32, TF32 off) vs the CPU reference, in FLOP/s (bytes/s for bias); our tensor-core
// kernels as impls "cuda_tf32" and "cuda_bf16" (PyTorch's cuDNN at the same precisions:
// bench/torch_kernels.py; bench/roofline.py has what each can reach on paper). GPU: batch 16.
// CPU: batch 2 at the same sizes (the reference is for correctness; compare its rates).
// Depthwise 3×3 at MobileNetV2's shapes (224×224 input): see register_depthwise.
#include "bench_util.h"
#include "cuseg/kernels/conv2d.h"

namespace cuseg::bench {
namespace {

struct ConvShape {
  int h, w, c, k;
};

// The U-Net's 3×3 convolutions from 256×256 (base width 32) down to 32×32 (width 256), plus
// the first layer on an RGB image.
constexpr ConvShape kShapes[] = {{256, 256, 3, 32},
                                 {256, 256, 32, 32},
                                 {128, 128, 64, 64},
                                 {64, 64, 128, 128},
                                 {32, 32, 256, 256}};

enum class Dir { Forward, BackwardData, BackwardFilter };
const char* dir_name(Dir d) {
  return d == Dir::Forward        ? "conv2d_forward"
         : d == Dir::BackwardData ? "conv2d_backward_data"
                                  : "conv2d_backward_filter";
}

// Every impl at f32; cuseg's own CUDA kernels also on the tensor cores.
std::vector<std::pair<Impl, Precision>> variants() {
  std::vector<std::pair<Impl, Precision>> v;
  for (const Impl& impl : implementations()) {
    v.emplace_back(impl, Precision::F32);
    if (impl.name == "cuda")
      for (const auto& [suffix, precision] : {std::pair{"_tf32", Precision::Tf32}, std::pair{"_bf16", Precision::Bf16}}) {
        Impl tc = impl;
        tc.name += suffix;
        v.emplace_back(tc, precision);
      }
  }
  return v;
}

void register_all() {
  for (const auto& [impl, precision] : variants()) {
    const int n = impl.device.is_cpu() ? 2 : 16;
    for (Dir dir : {Dir::Forward, Dir::BackwardData, Dir::BackwardFilter}) {
      for (const ConvShape& s : kShapes) {
        const std::string name = std::string(dir_name(dir)) + "/" + impl.name + "/N" +
                                 std::to_string(n) + "_H" + std::to_string(s.h) + "_W" +
                                 std::to_string(s.w) + "_C" + std::to_string(s.c) + "_K" +
                                 std::to_string(s.k);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), [=, impl = impl, precision = precision](benchmark::State& state) {
          const Conv2dParams p{1, 1, 1, 1, 1, 1, precision};
          const Shape xs{n, s.h, s.w, s.c}, ws{s.k, 3, 3, s.c};
          const Shape ys = conv2d_output_shape(xs, ws, p);
          Tensor x = random(xs, impl.device, 1), w = random(ws, impl.device, 2),
                 y = random(ys, impl.device, 3);
          run(state, impl, [&] {
            if (dir == Dir::Forward) conv2d_forward(x, w, y, p, impl.backend);
            if (dir == Dir::BackwardData) conv2d_backward_data(y, w, x, p, impl.backend);
            if (dir == Dir::BackwardFilter) conv2d_backward_filter(x, y, w, p, impl.backend);
          });
          set_flops(state, 2.0 * double(ys.numel()) * 9.0 * s.c);
        });
        b->Unit(benchmark::kMillisecond);
        if (impl.device.is_cuda())
          b->UseManualTime();
        else
          b->Iterations(1);
      }
    }
  }
}

// The decoder's upsampling: H×W×Ci → 2H×2W×Co, 2×2 kernel, stride 2 (unet-s at base 32).
struct UpShape {
  int h, w, ci, co;
};
constexpr UpShape kUpShapes[] = {{32, 32, 256, 128}, {64, 64, 128, 64}, {128, 128, 64, 32}};

void register_transposed_and_bias() {
  for (const Impl& impl : implementations()) {
    const int n = impl.device.is_cpu() ? 2 : 16;
    for (const UpShape& s : kUpShapes) {
      const ConvTranspose2dParams p{2, 2, 0, 0, 1, 1, 0, 0};
      const Shape xs{n, s.h, s.w, s.ci}, ws{s.ci, 2, 2, s.co};
      const Shape ys = conv_transpose2d_output_shape(xs, ws, p);
      const std::string shape = "/" + impl.name + "/N" + std::to_string(n) + "_H" +
                                std::to_string(s.h) + "_W" + std::to_string(s.w) + "_C" +
                                std::to_string(s.ci) + "_K" + std::to_string(s.co);
      for (Dir dir : {Dir::Forward, Dir::BackwardData, Dir::BackwardFilter}) {
        const std::string name =
            std::string(dir == Dir::Forward        ? "conv_transpose2d_forward"
                        : dir == Dir::BackwardData ? "conv_transpose2d_backward_data"
                                                   : "conv_transpose2d_backward_filter") +
            shape;
        auto* b = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
          Tensor x = random(xs, impl.device, 1), w = random(ws, impl.device, 2),
                 y = random(ys, impl.device, 3);
          run(state, impl, [&] {
            if (dir == Dir::Forward) conv_transpose2d_forward(x, w, y, p, impl.backend);
            if (dir == Dir::BackwardData) conv_transpose2d_backward_data(y, w, x, p, impl.backend);
            if (dir == Dir::BackwardFilter)
              conv_transpose2d_backward_filter(x, y, w, p, impl.backend);
          });
          set_flops(state, 2.0 * double(xs.numel()) * 4.0 * s.co);
        });
        b->Unit(benchmark::kMillisecond);
        if (impl.device.is_cuda())
          b->UseManualTime();
        else
          b->Iterations(1);
      }
    }
    for (const ConvShape& s : kShapes) {
      const Shape ys{n, s.h, s.w, s.k};
      const std::string shape = "/" + impl.name + "/N" + std::to_string(n) + "_H" +
                                std::to_string(s.h) + "_W" + std::to_string(s.w) + "_K" +
                                std::to_string(s.k);
      const double bytes = 4.0 * double(ys.numel());
      auto* fwd = benchmark::RegisterBenchmark(
          ("conv2d_bias_forward" + shape).c_str(), [=](benchmark::State& state) {
            Tensor y = random(ys, impl.device), b = random(Shape{s.k}, impl.device, 2);
            run(state, impl, [&] { conv2d_bias_forward(y, b, impl.backend); });
            set_bytes(state, 2 * bytes);
          });
      auto* bwd = benchmark::RegisterBenchmark(
          ("conv2d_bias_backward" + shape).c_str(), [=](benchmark::State& state) {
            Tensor dy = random(ys, impl.device), db = random(Shape{s.k}, impl.device, 2);
            run(state, impl, [&] { conv2d_bias_backward(dy, db, impl.backend); });
            set_bytes(state, bytes);
          });
      for (auto* b : {fwd, bwd}) {
        b->Unit(benchmark::kMicrosecond);
        if (impl.device.is_cuda()) b->UseManualTime();
      }
    }
  }
}

// MobileNetV2's depthwise 3×3 convolutions (groups = C, pad 1) on a 224×224 image: the input
// of each, and its stride. 9 multiply-adds per output: memory-bound, so far below the dense
// convolutions' FLOP/s on any implementation.
struct DepthwiseShape {
  int h, w, c, stride;
};
constexpr DepthwiseShape kDepthwiseShapes[] = {
    {112, 112, 32, 1}, {112, 112, 96, 2}, {56, 56, 144, 1}, {28, 28, 192, 1}, {14, 14, 576, 1}, {7, 7, 960, 1}};

void register_depthwise() {
  for (const Impl& impl : implementations()) {
    const int n = impl.device.is_cpu() ? 2 : 16;
    for (Dir dir : {Dir::Forward, Dir::BackwardData, Dir::BackwardFilter}) {
      for (const DepthwiseShape& s : kDepthwiseShapes) {
        const std::string name = std::string(dir_name(dir)) + "/depthwise3x3/" + impl.name + "/N" +
                                 std::to_string(n) + "_H" + std::to_string(s.h) + "_W" + std::to_string(s.w) +
                                 "_C" + std::to_string(s.c) + "_s" + std::to_string(s.stride);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
          const Conv2dParams p{.stride_h = s.stride, .stride_w = s.stride, .pad_h = 1, .pad_w = 1, .groups = s.c};
          const Shape xs{n, s.h, s.w, s.c}, ws{s.c, 3, 3, 1};
          const Shape ys = conv2d_output_shape(xs, ws, p);
          Tensor x = random(xs, impl.device, 1), w = random(ws, impl.device, 2), y = random(ys, impl.device, 3);
          run(state, impl, [&] {
            if (dir == Dir::Forward) conv2d_forward(x, w, y, p, impl.backend);
            if (dir == Dir::BackwardData) conv2d_backward_data(y, w, x, p, impl.backend);
            if (dir == Dir::BackwardFilter) conv2d_backward_filter(x, y, w, p, impl.backend);
          });
          set_flops(state, 2.0 * double(ys.numel()) * 9.0);
        });
        b->Unit(benchmark::kMillisecond);
        if (impl.device.is_cuda())
          b->UseManualTime();
        else
          b->Iterations(3);
      }
    }
  }
}

}  // namespace

void register_benchmarks() {
  register_all();
  register_depthwise();
  register_transposed_and_bias();
}

}  // namespace cuseg::bench
