// Our convolutions on the fast CPU path against oneDNN's own primitives on the same shapes: what
// cuseg's layer adds to oneDNN (the weight reorder from KRSC on every call, the accumulating
// reorder of dw, the primitive cache lookup). The oneDNN side is the best case: primitives built
// once, weights already in the layout the primitive chose, library-managed scratchpad.
//
//   conv_vs_onednn --threads 2 --batch 4 --size 256 --base 32 --reps 5
//
// Every 3×3 convolution of unet-s at that base width and image size (encoder, bottleneck and the
// decoder's after the concat), f32, forward / backward-data / backward-weights. Prints a Markdown
// table of median milliseconds; "ratio" is cuseg ÷ oneDNN.
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuseg/core/error.h"
#include "cuseg/core/tensor.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/kernels/conv2d.h"

namespace {

using namespace cuseg;
using dnnl::memory;

struct Layer {
  int h, w, c, k;
};

// unet-s (depth 4): two 3×3 convolutions per level; the decoder's first reads the concat (2×width).
std::vector<Layer> unet_layers(int size, int base, int channels) {
  std::vector<Layer> out;
  for (int l = 0; l < 4; ++l) {
    const int s = size >> l, width = base << l;
    out.push_back({s, s, l == 0 ? channels : width / 2, width});
    out.push_back({s, s, width, width});
  }
  for (int l = 2; l >= 0; --l) {
    const int s = size >> l, width = base << l;
    out.push_back({s, s, 2 * width, width});
    out.push_back({s, s, width, width});
  }
  return out;
}

double median_ms(int reps, const std::function<void()>& f) {
  f();  // warm-up: primitive creation and JIT, buffers
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void fill(const memory& m, float v) {
  float* p = static_cast<float*>(m.get_data_handle());
  const size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; ++i) p[i] = v * float(int(i % 7) - 3);
}

// oneDNN alone: forward, backward-data, backward-weights in ms.
std::array<double, 3> onednn_ms(int n, const Layer& s, int reps) {
  const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream st(eng);
  const auto f32 = memory::data_type::f32;
  const memory::dims strides{1, 1}, pad{1, 1};
  const memory::desc x_md({n, s.c, s.h, s.w}, f32, memory::format_tag::nhwc);
  const memory::desc y_md({n, s.k, s.h, s.w}, f32, memory::format_tag::nhwc);
  const memory::desc w_any({s.k, s.c, 3, 3}, f32, memory::format_tag::any);
  const dnnl::convolution_forward::primitive_desc fwd_pd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, x_md,
                                      w_any, y_md, strides, pad, pad),
      eng);
  const dnnl::convolution_backward_data::primitive_desc bwd_d_pd(
      dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, x_md, w_any, y_md, strides, pad, pad),
      eng, fwd_pd);
  const dnnl::convolution_backward_weights::primitive_desc bwd_w_pd(
      dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, x_md, w_any, y_md, strides, pad,
                                               pad),
      eng, fwd_pd);
  memory x(x_md, eng), y(y_md, eng), dx(x_md, eng), dy(y_md, eng);
  memory w(fwd_pd.weights_desc(), eng), w_bd(bwd_d_pd.weights_desc(), eng), dw(bwd_w_pd.diff_weights_desc(), eng);
  for (const memory* m : {&x, &dy, &w, &w_bd}) fill(*m, 0.01f);
  dnnl::convolution_forward fwd(fwd_pd);
  dnnl::convolution_backward_data bwd_d(bwd_d_pd);
  dnnl::convolution_backward_weights bwd_w(bwd_w_pd);
  auto time = [&](dnnl::primitive& p, std::unordered_map<int, memory> args) {
    return median_ms(reps, [&] {
      p.execute(st, args);
      st.wait();
    });
  };
  return {time(fwd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}}),
          time(bwd_d, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w_bd}, {DNNL_ARG_DIFF_SRC, dx}}),
          time(bwd_w, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}})};
}

std::array<double, 3> cuseg_ms(int n, const Layer& s, int reps) {
  const Conv2dParams p{1, 1, 1, 1, 1, 1};
  Tensor x = Tensor::full(Shape{n, s.h, s.w, s.c}, 0.01, DType::F32), dx = Tensor::empty(x.shape(), DType::F32);
  Tensor w = Tensor::full(Shape{s.k, 3, 3, s.c}, 0.01, DType::F32), dw = Tensor::zeros(w.shape(), DType::F32);
  Tensor y = Tensor::empty(Shape{n, s.h, s.w, s.k}, DType::F32), dy = Tensor::full(y.shape(), 0.01, DType::F32);
  return {median_ms(reps, [&] { conv2d_forward(x, w, y, p, Backend::Fast); }),
          median_ms(reps, [&] { conv2d_backward_data(dy, w, dx, p, Backend::Fast); }),
          median_ms(reps, [&] { conv2d_backward_filter(x, dy, dw, p, Backend::Fast); })};
}

int run(int argc, char** argv) {
  int threads = 0, batch = 4, size = 256, base = 32, channels = 3, reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::stoi(argv[i + 1]);
    if (flag == "--threads") threads = v;
    else if (flag == "--batch") batch = v;
    else if (flag == "--size") size = v;
    else if (flag == "--base") base = v;
    else if (flag == "--channels") channels = v;
    else if (flag == "--reps") reps = v;
    else throw_error("unknown flag " + flag);
  }
  set_cpu_threads(threads);
  std::printf("%s; batch %d, %d×%d, base %d, median of %d\n\n", compute_description(Device::cpu(), Backend::Fast,
              Precision::F32).c_str(), batch, size, size, base, reps);
  std::printf("| layer (H×W, C→K) | fwd cuseg | fwd oneDNN | ratio | bwd-data cuseg | bwd-data oneDNN | ratio | "
              "bwd-w cuseg | bwd-w oneDNN | ratio |\n|---|---|---|---|---|---|---|---|---|---|\n");
  std::array<double, 3> total_ours{}, total_theirs{};
  for (const Layer& s : unet_layers(size, base, channels)) {
    const auto ours = cuseg_ms(batch, s, reps), theirs = onednn_ms(batch, s, reps);
    std::printf("| %d×%d, %d→%d |", s.h, s.w, s.c, s.k);
    for (int d = 0; d < 3; ++d) {
      std::printf(" %.2f | %.2f | %.2f |", ours[size_t(d)], theirs[size_t(d)], ours[size_t(d)] / theirs[size_t(d)]);
      total_ours[size_t(d)] += ours[size_t(d)];
      total_theirs[size_t(d)] += theirs[size_t(d)];
    }
    std::printf("\n");
  }
  std::printf("| **all** |");
  for (int d = 0; d < 3; ++d)
    std::printf(" %.1f | %.1f | %.2f |", total_ours[size_t(d)], total_theirs[size_t(d)],
                total_ours[size_t(d)] / total_theirs[size_t(d)]);
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conv_vs_onednn: %s\n", e.what());
    return 1;
  }
}
