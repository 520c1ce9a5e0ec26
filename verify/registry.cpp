#include "verify/registry.h"

#include <chrono>
#include <climits>
#include <cmath>

#include "verify/compare.h"
#include "cuseg/config.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/concat.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/dice.h"
#include "cuseg/kernels/elementwise_loss.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/elementwise.h"
#include "cuseg/kernels/pool2d.h"
#include "cuseg/kernels/reduce.h"
#include "cuseg/kernels/softmax.h"
#include "cuseg/kernels/upsample.h"

namespace cuseg {

namespace {
// What an output is poisoned with: NaN, or for integers a value no valid output takes (indices
// are never negative, masks are 0 or 1).
double poison_value(DType dtype) {
  if (is_floating(dtype)) return std::nan("");
  return dtype == DType::U8 ? 255.0 : double(INT_MIN / 2);
}
}  // namespace

Tensor poisoned(const Shape& shape, DType dtype, Device device) {
  return Tensor::full(shape, poison_value(dtype), dtype, device);
}

namespace {

// The value accumulating outputs start from: exact in every dtype, and not a value an
// assigning kernel would produce by accident.
constexpr double kAccumulateStart = 0.5;

Tensor random_f64(const Shape& shape, uint64_t seed, double low = -1, double high = 1) {
  Tensor t = Tensor::empty(shape, DType::F64);
  t.fill_uniform(seed, low, high);
  return t;
}

// The floating dtype and device of a run: those of its first input.
DType float_type(const std::vector<Tensor>& in) { return in.front().dtype(); }
Device device_of(const std::vector<Tensor>& in) { return in.front().device(); }

Tensor output(const std::vector<Tensor>& in, const Shape& shape) {
  return poisoned(shape, float_type(in), device_of(in));
}
Tensor accumulator(const std::vector<Tensor>& in, const Shape& shape) {
  return Tensor::full(shape, kAccumulateStart, float_type(in), device_of(in));
}

// ---- convolution -------------------------------------------------------------------------

struct ConvCase {
  Shape x, w;
  Conv2dParams p;
  bool unet = false;
};

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {{1, 5, 7, 1}, {1, 3, 3, 1}, {1, 1, 1, 1, 1, 1}},             // batch 1, one channel
      {{2, 9, 11, 3}, {5, 3, 3, 3}, {2, 2, 1, 1, 1, 1}},            // RGB, odd sizes, stride 2
      {{3, 13, 10, 7}, {9, 5, 3, 7}, {1, 1, 2, 1, 1, 2}},           // non-square, dilated
      {{2, 17, 19, 33}, {65, 3, 3, 33}, {1, 1, 1, 1, 1, 1}},        // no multiple of any tile
      {{1, 8, 8, 16}, {8, 1, 1, 16}, {1, 1, 0, 0, 1, 1}},           // 1×1 (the U-Net head)
      {{1, 10, 10, 4}, {3, 3, 3, 4}, {3, 2, 2, 2, 2, 2}},           // stride 3×2, dilation 2
      {{2, 64, 64, 64}, {64, 3, 3, 64}, {1, 1, 1, 1, 1, 1}, true},  // a U-Net level
  };
  return cases;
}

std::string conv_label(const ConvCase& c) {
  return str_cat("x", c.x.str(), " w", c.w.str(), " s", c.p.stride_h, "x", c.p.stride_w, " p",
                 c.p.pad_h, "x", c.p.pad_w, " d", c.p.dil_h, "x", c.p.dil_w);
}

std::vector<OpCase> op_cases_of_conv() {
  std::vector<OpCase> out;
  for (const ConvCase& c : conv_cases()) out.push_back({conv_label(c), c.unet});
  return out;
}

struct ConvTransposeCase {
  Shape x, w;  // x [N,H,W,Ci], w [Ci,R,S,Co]
  ConvTranspose2dParams p;
  bool unet = false;
};

const std::vector<ConvTransposeCase>& conv_transpose_cases() {
  static const std::vector<ConvTransposeCase> cases = {
      {{1, 4, 5, 1}, {1, 2, 2, 1}, {2, 2, 0, 0, 1, 1, 0, 0}},
      {{2, 5, 7, 3}, {3, 3, 3, 4}, {2, 2, 1, 1, 1, 1, 1, 1}},
      {{2, 6, 6, 8}, {8, 2, 2, 3}, {2, 2, 0, 0, 1, 1, 0, 0}},
      {{3, 7, 5, 33}, {33, 3, 3, 17}, {1, 1, 1, 1, 1, 1, 0, 0}},
      {{1, 5, 5, 5}, {5, 3, 3, 6}, {3, 3, 1, 1, 2, 2, 2, 1}},
      {{2, 32, 32, 64}, {64, 2, 2, 32}, {2, 2, 0, 0, 1, 1, 0, 0}, true},
  };
  return cases;
}

std::vector<OpCase> op_cases_of_conv_transpose() {
  std::vector<OpCase> out;
  for (const ConvTransposeCase& c : conv_transpose_cases())
    out.push_back({str_cat("x", c.x.str(), " w", c.w.str(), " s", c.p.stride_h, " p", c.p.pad_h,
                           " d", c.p.dil_h, " op", c.p.output_pad_h, "x", c.p.output_pad_w),
                   c.unet});
  return out;
}

template <class Params>
Params with_precision(Params p, Precision precision) {
  p.precision = precision;
  return p;
}

// bf16 convolutions against float64: see OpSpec::bf16_tolerance. Over seg_verify's seeds 1–10
// the worst relative L2 error of any case was 4.9e-3 (float32's are near 1e-7).
constexpr double kBf16Tolerance = 1e-2;

void add_conv_ops(std::vector<OpSpec>& ops) {
  const auto cases = op_cases_of_conv();
  ops.push_back({"conv2d_forward", cases, true, 1e-5,
                 [](int i, uint64_t seed) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   return std::vector<Tensor>{random_f64(c.x, seed), random_f64(c.w, seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   Tensor y = output(in, conv2d_output_shape(c.x, c.w, c.p));
                   conv2d_forward(in[0], in[1], y, with_precision(c.p, b.precision), b);
                   return std::vector<Tensor>{y};
                 }});
  ops.back().has_fast = true;
  ops.back().bf16_tolerance = kBf16Tolerance;
  ops.push_back({"conv2d_backward_data", cases, true, 1e-5,
                 [](int i, uint64_t seed) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   return std::vector<Tensor>{random_f64(conv2d_output_shape(c.x, c.w, c.p), seed),
                                              random_f64(c.w, seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   Tensor dx = output(in, c.x);
                   conv2d_backward_data(in[0], in[1], dx, with_precision(c.p, b.precision), b);
                   return std::vector<Tensor>{dx};
                 }});
  ops.back().has_fast = true;
  ops.back().bf16_tolerance = kBf16Tolerance;
  // Weight and bias gradients sum over every output pixel of the batch: float32 error grows
  // with that length, hence 1e-4.
  ops.push_back({"conv2d_backward_filter", cases, true, 1e-4,
                 [](int i, uint64_t seed) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   return std::vector<Tensor>{
                       random_f64(c.x, seed),
                       random_f64(conv2d_output_shape(c.x, c.w, c.p), seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   Tensor dw = accumulator(in, c.w);
                   conv2d_backward_filter(in[0], in[1], dw, with_precision(c.p, b.precision), b);
                   return std::vector<Tensor>{dw};
                 }});
  ops.back().has_fast = true;
  ops.back().bf16_tolerance = kBf16Tolerance;
  ops.push_back({"conv2d_bias_forward", cases, true, 1e-5,
                 [](int i, uint64_t seed) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   return std::vector<Tensor>{random_f64(conv2d_output_shape(c.x, c.w, c.p), seed),
                                              random_f64(Shape{c.w[0]}, seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int, Exec b) {
                   Tensor y = in[0].clone();  // in place: y += b
                   conv2d_bias_forward(y, in[1], b);
                   return std::vector<Tensor>{y};
                 }});
  ops.back().has_fast = true;
  ops.push_back({"conv2d_bias_backward", cases, true, 1e-4,
                 [](int i, uint64_t seed) {
                   const ConvCase& c = conv_cases()[size_t(i)];
                   return std::vector<Tensor>{random_f64(conv2d_output_shape(c.x, c.w, c.p), seed)};
                 },
                 [](const std::vector<Tensor>& in, int, Exec b) {
                   Tensor db = accumulator(in, Shape{in[0].dim(3)});
                   conv2d_bias_backward(in[0], db, b);
                   return std::vector<Tensor>{db};
                 }});
  ops.back().has_fast = true;

  const auto tcases = op_cases_of_conv_transpose();
  ops.push_back({"conv_transpose2d_forward", tcases, true, 1e-5,
                 [](int i, uint64_t seed) {
                   const ConvTransposeCase& c = conv_transpose_cases()[size_t(i)];
                   return std::vector<Tensor>{random_f64(c.x, seed), random_f64(c.w, seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const ConvTransposeCase& c = conv_transpose_cases()[size_t(i)];
                   Tensor y = output(in, conv_transpose2d_output_shape(c.x, c.w, c.p));
                   conv_transpose2d_forward(in[0], in[1], y, with_precision(c.p, b.precision), b);
                   return std::vector<Tensor>{y};
                 }});
  ops.back().has_fast = true;
  ops.back().bf16_tolerance = kBf16Tolerance;
  ops.push_back({"conv_transpose2d_backward_data", tcases, true, 1e-5,
                 [](int i, uint64_t seed) {
                   const ConvTransposeCase& c = conv_transpose_cases()[size_t(i)];
                   return std::vector<Tensor>{
                       random_f64(conv_transpose2d_output_shape(c.x, c.w, c.p), seed),
                       random_f64(c.w, seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const ConvTransposeCase& c = conv_transpose_cases()[size_t(i)];
                   Tensor dx = output(in, c.x);
                   conv_transpose2d_backward_data(in[0], in[1], dx, with_precision(c.p, b.precision), b);
                   return std::vector<Tensor>{dx};
                 }});
  ops.back().has_fast = true;
  ops.back().bf16_tolerance = kBf16Tolerance;
  ops.push_back({"conv_transpose2d_backward_filter", tcases, true, 1e-4,
                 [](int i, uint64_t seed) {
                   const ConvTransposeCase& c = conv_transpose_cases()[size_t(i)];
                   return std::vector<Tensor>{
                       random_f64(c.x, seed),
                       random_f64(conv_transpose2d_output_shape(c.x, c.w, c.p), seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const ConvTransposeCase& c = conv_transpose_cases()[size_t(i)];
                   Tensor dw = accumulator(in, c.w);
                   conv_transpose2d_backward_filter(in[0], in[1], dw, with_precision(c.p, b.precision), b);
                   return std::vector<Tensor>{dw};
                 }});
  ops.back().has_fast = true;
  ops.back().bf16_tolerance = kBf16Tolerance;
}

// ---- pooling -----------------------------------------------------------------------------

struct PoolCase {
  Shape x;
  Pool2dParams p;
  bool unet = false;
};

const std::vector<PoolCase>& pool_cases() {
  static const std::vector<PoolCase> cases = {
      {{1, 4, 4, 1}, {2, 2, 2, 2, 0, 0, true}},   {{2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, false}},
      {{3, 11, 13, 5}, {3, 2, 1, 2, 1, 1, true}}, {{2, 10, 10, 33}, {2, 2, 2, 2, 0, 0, true}},
      {{1, 9, 9, 7}, {3, 3, 3, 3, 1, 1, false}},  {{2, 64, 64, 64}, {2, 2, 2, 2, 0, 0, true}, true},
  };
  return cases;
}

std::vector<OpCase> op_cases_of_pool() {
  std::vector<OpCase> out;
  for (const PoolCase& c : pool_cases())
    out.push_back({str_cat("x", c.x.str(), " k", c.p.kernel_h, "x", c.p.kernel_w, " s",
                           c.p.stride_h, "x", c.p.stride_w, " p", c.p.pad_h, "x", c.p.pad_w,
                           c.p.count_include_pad ? "" : " exclude-pad"),
                   c.unet});
  return out;
}

void add_pool_ops(std::vector<OpSpec>& ops) {
  const auto cases = op_cases_of_pool();
  ops.push_back({"max_pool2d_forward", cases, false, 1e-5,
                 [](int i, uint64_t seed) {
                   return std::vector<Tensor>{random_f64(pool_cases()[size_t(i)].x, seed)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const PoolCase& c = pool_cases()[size_t(i)];
                   const Shape ys = pool2d_output_shape(c.x, c.p);
                   Tensor y = output(in, ys);
                   Tensor argmax = poisoned(ys, DType::I32, device_of(in));
                   max_pool2d_forward(in[0], y, argmax, c.p, b);
                   return std::vector<Tensor>{y, argmax};
                 }});
  ops.back().has_fast = true;
  ops.push_back({"max_pool2d_backward", cases, false, 1e-5,
                 [](int i, uint64_t seed) {
                   const PoolCase& c = pool_cases()[size_t(i)];
                   const Shape ys = pool2d_output_shape(c.x, c.p);
                   Tensor x = random_f64(c.x, seed), y = Tensor::empty(ys, DType::F64);
                   Tensor argmax = Tensor::empty(ys, DType::I32);
                   max_pool2d_forward(x, y, argmax, c.p);
                   return std::vector<Tensor>{random_f64(ys, seed + 1), argmax};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const PoolCase& c = pool_cases()[size_t(i)];
                   Tensor dx = output(in, c.x);
                   max_pool2d_backward(in[0], in[1], dx, c.p, b);
                   return std::vector<Tensor>{dx};
                 }});
  ops.back().has_fast = true;
  ops.push_back({"avg_pool2d_forward", cases, true, 1e-5,
                 [](int i, uint64_t seed) {
                   return std::vector<Tensor>{random_f64(pool_cases()[size_t(i)].x, seed)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const PoolCase& c = pool_cases()[size_t(i)];
                   Tensor y = output(in, pool2d_output_shape(c.x, c.p));
                   avg_pool2d_forward(in[0], y, c.p, b);
                   return std::vector<Tensor>{y};
                 }});
  ops.push_back({"avg_pool2d_backward", cases, true, 1e-5,
                 [](int i, uint64_t seed) {
                   const PoolCase& c = pool_cases()[size_t(i)];
                   return std::vector<Tensor>{random_f64(pool2d_output_shape(c.x, c.p), seed)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   const PoolCase& c = pool_cases()[size_t(i)];
                   Tensor dx = output(in, c.x);
                   avg_pool2d_backward(in[0], dx, c.p, b);
                   return std::vector<Tensor>{dx};
                 }});
}

// ---- softmax -----------------------------------------------------------------------------

struct RowsCase {
  Shape x;
  bool unet = false;
};

const std::vector<RowsCase>& softmax_cases() {
  static const std::vector<RowsCase> cases = {
      {{1, 5, 7, 1}},  {{2, 9, 11, 3}},  {{1, 1, 1, 2}},          {{3, 13, 10, 21}},
      {{2, 5, 6, 33}}, {{1, 7, 3, 150}}, {{3, 37, 41, 7}},          {{2, 64, 64, 64}, true},
  };
  return cases;
}

std::vector<OpCase> op_cases_of_softmax() {
  std::vector<OpCase> out;
  for (const RowsCase& c : softmax_cases()) out.push_back({str_cat("x", c.x.str()), c.unet});
  return out;
}

void add_softmax_ops(std::vector<OpSpec>& ops) {
  const auto cases = op_cases_of_softmax();
  for (bool log : {false, true}) {
    auto fwd = log ? log_softmax_forward : softmax_forward;
    auto bwd = log ? log_softmax_backward : softmax_backward;
    ops.push_back({log ? "log_softmax_forward" : "softmax_forward", cases, true, 1e-5,
                   [](int i, uint64_t seed) {
                     return std::vector<Tensor>{
                         random_f64(softmax_cases()[size_t(i)].x, seed, -4, 4)};
                   },
                   [fwd](const std::vector<Tensor>& in, int, Exec b) {
                     Tensor y = output(in, in[0].shape());
                     fwd(in[0], y, b);
                     return std::vector<Tensor>{y};
                   }});
    ops.push_back({log ? "log_softmax_backward" : "softmax_backward", cases, true, 1e-5,
                   [fwd](int i, uint64_t seed) {
                     const Shape& s = softmax_cases()[size_t(i)].x;
                     Tensor y = Tensor::empty(s, DType::F64);
                     fwd(random_f64(s, seed, -4, 4), y, Backend::Auto);
                     return std::vector<Tensor>{y, random_f64(s, seed + 1)};
                   },
                   [bwd](const std::vector<Tensor>& in, int, Exec b) {
                     Tensor dx = output(in, in[0].shape());
                     bwd(in[0], in[1], dx, b);
                     return std::vector<Tensor>{dx};
                   }});
  }
}

// ---- softmax cross-entropy ---------------------------------------------------------------

struct CrossEntropyCase {
  Shape logits;
  DType label_type;
  bool weighted;
  double ignored_fraction;
  double logit_scale;  // 1e4 checks stability
  bool unet = false;
  double smoothing = 0;
  double focal_gamma = 0;
};

const std::vector<CrossEntropyCase>& cross_entropy_cases() {
  static const std::vector<CrossEntropyCase> cases = {
      {{1, 5, 7, 2}, DType::U8, false, 0.0, 3},        {{2, 9, 11, 3}, DType::I32, true, 0.0, 3, false, 0, 0.5},
      {{3, 13, 10, 21}, DType::U8, true, 0.2, 3},      {{2, 5, 6, 33}, DType::I32, false, 0.3, 3, false, 0.1},
      {{1, 7, 3, 150}, DType::U8, true, 0.0, 3, false, 0, 2.0},       {{2, 16, 16, 5}, DType::I32, true, 0.1, 1e4},
      {{3, 37, 41, 11}, DType::U8, true, 0.1, 8},      {{2, 64, 64, 8}, DType::U8, true, 0.1, 3, true, 0.05},
  };
  return cases;
}

// u8 labels ignore 255 (cuseg's default), i32 labels -100 (PyTorch's).
SoftmaxCrossEntropyParams cross_entropy_params(const CrossEntropyCase& c) {
  return {c.label_type == DType::U8 ? 255 : -100, c.smoothing, c.focal_gamma};
}

std::vector<OpCase> op_cases_of_cross_entropy() {
  std::vector<OpCase> out;
  for (const CrossEntropyCase& c : cross_entropy_cases())
    out.push_back({str_cat("logits", c.logits.str(), " labels ", dtype_name(c.label_type),
                           c.weighted ? " weighted" : "", " ignore ", c.ignored_fraction, " scale ",
                           c.logit_scale),
                   c.unet});
  return out;
}

// logits, labels, class weights (undefined when unweighted).
std::vector<Tensor> cross_entropy_inputs(int i, uint64_t seed) {
  const CrossEntropyCase& c = cross_entropy_cases()[size_t(i)];
  const int classes = int(c.logits[3]);
  const Shape label_shape{c.logits[0], c.logits[1], c.logits[2]};
  const std::vector<double> pick = random_f64(label_shape, seed + 1, 0, 1).to_vector<double>();
  const std::vector<double> drop = random_f64(label_shape, seed + 2, 0, 1).to_vector<double>();
  std::vector<int32_t> labels(pick.size());
  for (size_t j = 0; j < pick.size(); ++j)
    labels[j] = drop[j] < c.ignored_fraction ? cross_entropy_params(c).ignore_index
                                             : std::min(classes - 1, int(pick[j] * classes));
  Tensor label_tensor = Tensor::from_vector(labels, label_shape);
  if (c.label_type == DType::U8) label_tensor = label_tensor.to(DType::U8);
  Tensor weights = c.weighted ? random_f64(Shape{classes}, seed + 3, 0.25, 2) : Tensor();
  return {random_f64(c.logits, seed, -c.logit_scale, c.logit_scale), label_tensor, weights};
}

void add_cross_entropy_ops(std::vector<OpSpec>& ops) {
  const auto cases = op_cases_of_cross_entropy();
  ops.push_back({"softmax_cross_entropy_forward", cases, false, 1e-5, cross_entropy_inputs,
                 [](const std::vector<Tensor>& in, int i, Exec b) {
                   Tensor loss = output(in, Shape{1}), weight_sum = output(in, Shape{1});
                   softmax_cross_entropy_forward(
                       in[0], in[1], in[2], loss, weight_sum,
                       cross_entropy_params(cross_entropy_cases()[size_t(i)]), b);
                   return std::vector<Tensor>{loss, weight_sum};
                 }});
  ops.back().has_fast = true;
  ops.push_back(
      {"softmax_cross_entropy_backward", cases, false, 1e-5,
       [](int i, uint64_t seed) {
         std::vector<Tensor> in = cross_entropy_inputs(i, seed);
         Tensor loss = Tensor::empty(Shape{1}, DType::F64);
         Tensor weight_sum = Tensor::empty(Shape{1}, DType::F64);
         softmax_cross_entropy_forward(in[0], in[1], in[2], loss, weight_sum,
                                       cross_entropy_params(cross_entropy_cases()[size_t(i)]));
         in.push_back(weight_sum);
         return in;
       },
       [](const std::vector<Tensor>& in, int i, Exec b) {
         Tensor dlogits = output(in, in[0].shape());
         softmax_cross_entropy_backward(in[0], in[1], in[2], in[3], dlogits, 0.75,
                                        cross_entropy_params(cross_entropy_cases()[size_t(i)]), b);
         return std::vector<Tensor>{dlogits};
       }});
  ops.back().has_fast = true;
}

// ---- pointwise: activations, elementwise arithmetic, dropout ------------------------------
// The softmax shapes serve: batch 1, 1 and 3 channels, odd sizes, a U-Net-sized case.

void add_pointwise_ops(std::vector<OpSpec>& ops) {
  const auto cases = op_cases_of_softmax();
  auto shape_of = [](int i) { return softmax_cases()[size_t(i)].x; };
  for (ActivationKind kind : {ActivationKind::Relu, ActivationKind::LeakyRelu, ActivationKind::Sigmoid,
                              ActivationKind::Tanh}) {
    const ActivationParams p{kind, 0.1};
    const bool cudnn = kind != ActivationKind::LeakyRelu;
    ops.push_back({str_cat(activation_name(kind), "_forward"), cases, cudnn, 1e-5,
                   [=](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(shape_of(i), seed, -4, 4)}; },
                   [=](const std::vector<Tensor>& in, int, Exec b) {
                     Tensor y = output(in, in[0].shape());
                     activation_forward(in[0], y, p, b);
                     return std::vector<Tensor>{y};
                   }});
    ops.push_back({str_cat(activation_name(kind), "_backward"), cases, cudnn, 1e-5,
                   [=](int i, uint64_t seed) {
                     Tensor y = Tensor::empty(shape_of(i), DType::F64);
                     activation_forward(random_f64(shape_of(i), seed, -4, 4), y, p);
                     return std::vector<Tensor>{y, random_f64(shape_of(i), seed + 1)};
                   },
                   [=](const std::vector<Tensor>& in, int, Exec b) {
                     Tensor dx = output(in, in[0].shape());
                     activation_backward(in[0], in[1], dx, p, b);
                     return std::vector<Tensor>{dx};
                   }});
    if (kind == ActivationKind::Relu || kind == ActivationKind::LeakyRelu)
      ops[ops.size() - 2].has_fast = ops.back().has_fast = true;
  }
  ops.push_back({"add", cases, false, 1e-5,
                 [=](int i, uint64_t seed) {
                   return std::vector<Tensor>{random_f64(shape_of(i), seed), random_f64(shape_of(i), seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int, Exec) {
                   Tensor out = output(in, in[0].shape());
                   add(in[0], in[1], out);
                   return std::vector<Tensor>{out};
                 }});
  ops.push_back({"scale", cases, false, 1e-5,
                 [=](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(shape_of(i), seed)}; },
                 [](const std::vector<Tensor>& in, int, Exec) {
                   Tensor out = output(in, in[0].shape());
                   scale(in[0], -1.75, out);
                   return std::vector<Tensor>{out};
                 }});
  ops.push_back({"axpy", cases, false, 1e-5,
                 [=](int i, uint64_t seed) {
                   return std::vector<Tensor>{random_f64(shape_of(i), seed), random_f64(shape_of(i), seed + 1)};
                 },
                 [](const std::vector<Tensor>& in, int, Exec) {
                   Tensor y = in[1].clone();  // accumulates: y += α·x
                   axpy(0.3, in[0], y);
                   return std::vector<Tensor>{y};
                 }});
  const DropoutParams dropout{0.3, 1234, 99};
  ops.push_back({"dropout_forward", cases, false, 1e-5,
                 [=](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(shape_of(i), seed)}; },
                 [=](const std::vector<Tensor>& in, int, Exec) {
                   Tensor y = output(in, in[0].shape());
                   Tensor mask = poisoned(in[0].shape(), DType::U8, device_of(in));
                   dropout_forward(in[0], y, mask, dropout);
                   return std::vector<Tensor>{y, mask};
                 }});
  ops.push_back({"dropout_backward", cases, false, 1e-5,
                 [=](int i, uint64_t seed) {
                   Tensor y = Tensor::empty(shape_of(i), DType::F64), mask = Tensor::empty(shape_of(i), DType::U8);
                   dropout_forward(random_f64(shape_of(i), seed), y, mask, dropout);
                   return std::vector<Tensor>{random_f64(shape_of(i), seed + 1), mask};
                 },
                 [=](const std::vector<Tensor>& in, int, Exec) {
                   Tensor dx = output(in, in[0].shape());
                   dropout_backward(in[0], in[1], dx, dropout);
                   return std::vector<Tensor>{dx};
                 }});
}

// ---- resizing ----------------------------------------------------------------------------

struct ResizeCase {
  Shape x, y;
  bool unet = false;
};

const std::vector<ResizeCase>& resize_cases() {
  static const std::vector<ResizeCase> cases = {
      {{1, 5, 7, 1}, {1, 10, 14, 1}},   {{2, 9, 11, 3}, {2, 18, 22, 3}}, {{1, 4, 4, 2}, {1, 7, 9, 2}},
      {{3, 13, 10, 5}, {3, 26, 20, 5}}, {{2, 6, 5, 33}, {2, 12, 10, 33}}, {{1, 8, 8, 4}, {1, 5, 6, 4}},
      {{2, 32, 32, 64}, {2, 64, 64, 64}, true},
  };
  return cases;
}

void add_resize_ops(std::vector<OpSpec>& ops) {
  std::vector<OpCase> cases;
  for (const ResizeCase& c : resize_cases()) cases.push_back({str_cat("x", c.x.str(), " to ", c.y.str()), c.unet});
  for (UpsampleMode mode : {UpsampleMode::Nearest, UpsampleMode::Bilinear}) {
    const std::string name = mode == UpsampleMode::Nearest ? "upsample_nearest" : "upsample_bilinear";
    ops.push_back({name + "_forward", cases, false, 1e-5,
                   [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(resize_cases()[size_t(i)].x, seed)}; },
                   [mode](const std::vector<Tensor>& in, int i, Exec) {
                     Tensor y = output(in, resize_cases()[size_t(i)].y);
                     upsample_forward(in[0], y, mode);
                     return std::vector<Tensor>{y};
                   }});
    ops.push_back({name + "_backward", cases, false, 1e-5,
                   [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(resize_cases()[size_t(i)].y, seed)}; },
                   [mode](const std::vector<Tensor>& in, int i, Exec) {
                     Tensor dx = output(in, resize_cases()[size_t(i)].x);
                     upsample_backward(in[0], dx, mode);
                     return std::vector<Tensor>{dx};
                   }});
  }
}

// ---- channel concat and split -----------------------------------------------------------

// The channel counts of the parts, on a shared N×H×W.
struct ConcatCase {
  Shape nhw;
  std::vector<int64_t> channels;
  bool unet = false;
};

const std::vector<ConcatCase>& concat_cases() {
  static const std::vector<ConcatCase> cases = {
      {{1, 5, 7}, {1, 2}},      {{2, 9, 11}, {3, 3}},         {{1, 4, 4}, {1, 5, 2}},
      {{3, 13, 10}, {16, 17}},  {{2, 6, 5}, {33, 1}},         {{1, 3, 3}, {1}},
      {{2, 64, 64}, {64, 64}, true},
  };
  return cases;
}

Shape with_channels(const Shape& nhw, int64_t c) { return Shape{nhw[0], nhw[1], nhw[2], c}; }

int64_t total_channels(const ConcatCase& c) {
  int64_t sum = 0;
  for (int64_t k : c.channels) sum += k;
  return sum;
}

void add_concat_ops(std::vector<OpSpec>& ops) {
  std::vector<OpCase> cases;
  for (const ConcatCase& c : concat_cases()) {
    std::string label = str_cat("nhw", c.nhw.str(), " channels");
    for (int64_t k : c.channels) label += str_cat(" ", k);
    cases.push_back({label, c.unet});
  }
  ops.push_back({"concat_channels", cases, false, 1e-5,
                 [](int i, uint64_t seed) {
                   std::vector<Tensor> parts;
                   for (int64_t c : concat_cases()[size_t(i)].channels)
                     parts.push_back(random_f64(with_channels(concat_cases()[size_t(i)].nhw, c), seed++));
                   return parts;
                 },
                 [](const std::vector<Tensor>& in, int i, Exec) {
                   const ConcatCase& c = concat_cases()[size_t(i)];
                   Tensor out = output(in, with_channels(c.nhw, total_channels(c)));
                   concat_channels(in, out);
                   return std::vector<Tensor>{out};
                 }});
  ops.push_back({"split_channels", cases, false, 1e-5,
                 [](int i, uint64_t seed) {
                   const ConcatCase& c = concat_cases()[size_t(i)];
                   return std::vector<Tensor>{random_f64(with_channels(c.nhw, total_channels(c)), seed)};
                 },
                 [](const std::vector<Tensor>& in, int i, Exec) {
                   std::vector<Tensor> parts;
                   for (int64_t c : concat_cases()[size_t(i)].channels)
                     parts.push_back(output(in, with_channels(concat_cases()[size_t(i)].nhw, c)));
                   split_channels(in[0], parts);
                   return parts;
                 }});
}

// ---- batch normalization -----------------------------------------------------------------

const std::vector<RowsCase>& batch_norm_cases() {
  static const std::vector<RowsCase> cases = {
      {{1, 5, 7, 1}},  {{2, 9, 11, 3}}, {{3, 13, 10, 5}}, {{2, 5, 6, 33}},
      {{1, 7, 3, 150}}, {{4, 2, 2, 8}},  {{3, 37, 41, 7}}, {{2, 64, 64, 64}, true},
  };
  return cases;
}

// x, γ, β, running mean, running variance (positive).
std::vector<Tensor> batch_norm_inputs(int i, uint64_t seed) {
  const Shape& s = batch_norm_cases()[size_t(i)].x;
  const Shape c{s[3]};
  return {random_f64(s, seed, -2, 3), random_f64(c, seed + 1, 0.5, 1.5), random_f64(c, seed + 2),
          random_f64(c, seed + 3), random_f64(c, seed + 4, 0.5, 2)};
}

const BatchNormParams kBatchNorm{1e-5, 0.1};

// The training forward, plain or fused with ReLU: y, the batch statistics, the running ones
// (updated in place, so cloned first).
std::function<std::vector<Tensor>(const std::vector<Tensor>&, int, Exec)> training_run(bool relu) {
  return [relu](const std::vector<Tensor>& in, int, Exec b) {
    const Shape c{in[0].dim(3)};
    Tensor y = output(in, in[0].shape()), mean = output(in, c), invstd = output(in, c);
    Tensor running_mean = in[3].clone(), running_var = in[4].clone();
    (relu ? batch_norm_relu_forward_training : batch_norm_forward_training)(
        in[0], in[1], in[2], y, mean, invstd, running_mean, running_var, kBatchNorm, b);
    return std::vector<Tensor>{y, mean, invstd, running_mean, running_var};
  };
}

void add_batch_norm_ops(std::vector<OpSpec>& ops) {
  std::vector<OpCase> cases;
  for (const RowsCase& c : batch_norm_cases()) cases.push_back({str_cat("x", c.x.str()), c.unet});
  ops.push_back({"batch_norm_forward_training", cases, true, 1e-5, batch_norm_inputs, training_run(false)});
  ops.back().has_fast = true;
  ops.push_back({"batch_norm_forward_inference", cases, true, 1e-5, batch_norm_inputs,
                 [](const std::vector<Tensor>& in, int, Exec b) {
                   Tensor y = output(in, in[0].shape());
                   batch_norm_forward_inference(in[0], in[1], in[2], in[3], in[4], y, kBatchNorm, b);
                   return std::vector<Tensor>{y};
                 }});
  ops.back().has_fast = true;
  // Sums over every pixel of the batch, as for the weight gradients: 1e-4.
  ops.push_back({"batch_norm_backward", cases, true, 1e-4,
                 [](int i, uint64_t seed) {
                   std::vector<Tensor> in = batch_norm_inputs(i, seed);
                   const Shape c{in[0].dim(3)};
                   Tensor y = Tensor::empty(in[0].shape(), DType::F64), mean = Tensor::empty(c, DType::F64);
                   Tensor invstd = Tensor::empty(c, DType::F64);
                   batch_norm_forward_training(in[0], in[1], in[2], y, mean, invstd, in[3], in[4], kBatchNorm);
                   return std::vector<Tensor>{in[0], random_f64(in[0].shape(), seed + 9), in[1], mean, invstd};
                 },
                 [](const std::vector<Tensor>& in, int, Exec b) {
                   const Shape c{in[0].dim(3)};
                   Tensor dx = output(in, in[0].shape()), dgamma = accumulator(in, c), dbeta = accumulator(in, c);
                   batch_norm_backward(in[0], in[1], in[2], in[3], in[4], dx, dgamma, dbeta, kBatchNorm, b);
                   return std::vector<Tensor>{dx, dgamma, dbeta};
                 }});
  ops.back().has_fast = true;
  // Fused with ReLU: β centred at 0 puts about half of the outputs below 0.
  ops.push_back({"batch_norm_relu_forward_training", cases, true, 1e-5, batch_norm_inputs, training_run(true)});
  ops.back().has_fast = true;
  ops.push_back({"batch_norm_relu_forward_inference", cases, true, 1e-5, batch_norm_inputs,
                 [](const std::vector<Tensor>& in, int, Exec b) {
                   Tensor y = output(in, in[0].shape());
                   batch_norm_relu_forward_inference(in[0], in[1], in[2], in[3], in[4], y, kBatchNorm, b);
                   return std::vector<Tensor>{y};
                 }});
  ops.back().has_fast = true;
  ops.push_back({"batch_norm_relu_backward", cases, true, 1e-4,
                 [](int i, uint64_t seed) {  // x, y, dy, γ, mean, invstd
                   std::vector<Tensor> in = batch_norm_inputs(i, seed);
                   const Shape c{in[0].dim(3)};
                   Tensor y = Tensor::empty(in[0].shape(), DType::F64), mean = Tensor::empty(c, DType::F64);
                   Tensor invstd = Tensor::empty(c, DType::F64);
                   batch_norm_relu_forward_training(in[0], in[1], in[2], y, mean, invstd, in[3], in[4], kBatchNorm);
                   return std::vector<Tensor>{in[0], y, random_f64(in[0].shape(), seed + 9), in[1], mean, invstd};
                 },
                 [](const std::vector<Tensor>& in, int, Exec b) {
                   const Shape c{in[0].dim(3)};
                   Tensor dx = output(in, in[0].shape()), dgamma = accumulator(in, c), dbeta = accumulator(in, c);
                   batch_norm_relu_backward(in[0], in[1], in[2], in[3], in[4], in[5], dx, dgamma, dbeta, kBatchNorm,
                                            b);
                   return std::vector<Tensor>{dx, dgamma, dbeta};
                 }});
  ops.back().has_fast = true;
}

// ---- whole-tensor reductions --------------------------------------------------------------

void add_reduce_ops(std::vector<OpSpec>& ops) {
  const auto cases = op_cases_of_softmax();
  const std::pair<const char*, void (*)(const Tensor&, Tensor&)> kinds[] = {
      {"reduce_sum", reduce_sum}, {"reduce_mean", reduce_mean}, {"reduce_l2_norm", reduce_l2_norm}};
  for (const auto& [name, fn] : kinds) {
    ops.push_back({name, cases, false, 1e-5,
                   [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(softmax_cases()[size_t(i)].x, seed)}; },
                   [fn = fn](const std::vector<Tensor>& in, int, Exec) {
                     Tensor out = output(in, Shape{1});
                     fn(in[0], out);
                     return std::vector<Tensor>{out};
                   }});
  }
}

// ---- losses: elementwise and Dice ----------------------------------------------------------

void add_loss_ops(std::vector<OpSpec>& ops) {
  const auto rows = op_cases_of_softmax();
  for (ElementwiseLossKind kind : {ElementwiseLossKind::Bce, ElementwiseLossKind::Mse, ElementwiseLossKind::SmoothL1}) {
    const std::string name = kind == ElementwiseLossKind::Bce   ? "bce_loss"
                             : kind == ElementwiseLossKind::Mse ? "mse_loss"
                                                                : "smooth_l1_loss";
    const ElementwiseLossParams p{kind, 0.5};
    // x, target, pos_weight (bce: targets in [0, 1] and a weight per channel).
    auto inputs = [kind](int i, uint64_t seed) {
      const Shape& s = softmax_cases()[size_t(i)].x;
      const bool bce = kind == ElementwiseLossKind::Bce;
      return std::vector<Tensor>{random_f64(s, seed, -3, 3), random_f64(s, seed + 1, bce ? 0 : -3, bce ? 1 : 3),
                                 bce ? random_f64(Shape{s[3]}, seed + 2, 0.5, 3) : Tensor()};
    };
    ops.push_back({name + "_forward", rows, false, 1e-5, inputs, [p](const std::vector<Tensor>& in, int, Exec) {
                     Tensor loss = output(in, Shape{1});
                     elementwise_loss_forward(in[0], in[1], in[2], loss, p);
                     return std::vector<Tensor>{loss};
                   }});
    ops.push_back({name + "_backward", rows, false, 1e-5, inputs, [p](const std::vector<Tensor>& in, int, Exec) {
                     Tensor dx = output(in, in[0].shape());
                     elementwise_loss_backward(in[0], in[1], in[2], dx, 0.75, p);
                     return std::vector<Tensor>{dx};
                   }});
  }
  const auto ce_cases = op_cases_of_cross_entropy();
  // The cross-entropy cases' labels with logits of ordinary scale: at 1e4 (a stability case for
  // cross-entropy) rounding the logits to float changes the probabilities Dice sums.
  auto dice_inputs = [](int i, uint64_t seed) {
    std::vector<Tensor> in = cross_entropy_inputs(i, seed);
    return std::vector<Tensor>{random_f64(in[0].shape(), seed + 7, -3, 3), in[1]};
  };
  auto dice_params = [](int i) { return DiceParams{1.0, cross_entropy_params(cross_entropy_cases()[size_t(i)]).ignore_index}; };
  ops.push_back({"dice_forward", ce_cases, false, 1e-5,
                 dice_inputs,
                 [dice_params](const std::vector<Tensor>& in, int i, Exec) {
                   Tensor loss = output(in, Shape{1}), stats = output(in, Shape{2, in[0].dim(in[0].rank() - 1)});
                   dice_forward(in[0], in[1], loss, stats, dice_params(i));
                   return std::vector<Tensor>{loss, stats};
                 }});
  ops.push_back({"dice_backward", ce_cases, false, 1e-5,
                 [dice_params, dice_inputs](int i, uint64_t seed) {
                   std::vector<Tensor> in = dice_inputs(i, seed);
                   Tensor loss = Tensor::empty(Shape{1}, DType::F64);
                   Tensor stats = Tensor::empty(Shape{2, in[0].dim(in[0].rank() - 1)}, DType::F64);
                   dice_forward(in[0], in[1], loss, stats, dice_params(i));
                   return std::vector<Tensor>{in[0], in[1], stats};
                 },
                 [dice_params](const std::vector<Tensor>& in, int i, Exec) {
                   Tensor dx = output(in, in[0].shape());
                   dice_backward(in[0], in[1], in[2], dx, 0.75, dice_params(i));
                   return std::vector<Tensor>{dx};
                 }});
}

// Empty when `ref` holds no poison (nor any NaN or ±Inf); else how many elements and the first.
std::string unwritten_element(const Tensor& ref) {
  int64_t first = -1;
  int64_t n = count_nonfinite(ref, &first);
  if (!is_floating(ref.dtype())) {
    const std::vector<double> v = ref.to(Device::cpu()).to(DType::F64).to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] == poison_value(ref.dtype()) && n++ == 0) first = int64_t(i);
  }
  if (n == 0) return {};
  return str_cat("has ", n, " unwritten or non-finite element(s), the first at ", coordinates(ref.shape(), first));
}

std::string impl_name(Device device, Backend backend) {
  if (device.is_cpu()) {
    const bool fast = backend == Backend::Fast || (backend == Backend::Auto && CUSEG_HAS_ONEDNN);
    return fast ? "fast" : "reference";
  }
  return backend == Backend::Cudnn ? "cudnn" : "cuda";
}

}  // namespace

const std::vector<OpSpec>& op_registry() {
  static const std::vector<OpSpec> ops = [] {
    std::vector<OpSpec> all;
    add_conv_ops(all);
    add_pool_ops(all);
    add_softmax_ops(all);
    add_cross_entropy_ops(all);
    add_pointwise_ops(all);
    add_resize_ops(all);
    add_concat_ops(all);
    add_batch_norm_ops(all);
    add_reduce_ops(all);
    add_loss_ops(all);
    return all;
  }();
  return ops;
}

const OpSpec& find_op(const std::string& name) {
  for (const OpSpec& op : op_registry())
    if (op.name == name) return op;
  throw_error("find_op: no op named '" + name + "'");
}

OpCheck check_op(const OpSpec& op, int i, Device device, Backend backend, uint64_t seed, Precision precision) {
  OpCheck r;
  r.op = op.name;
  r.case_label = op.cases[size_t(i)].label;
  r.impl = impl_name(device, backend);
  r.precision = precision_name(precision);
  const Exec exec{backend, precision};
  const double tolerance = precision == Precision::Bf16 ? op.bf16_tolerance : op.tolerance;
  try {
    // The reference runs on exactly the values the float32 run gets (every f64 input rounded to
    // float32 and back), so the comparison measures the implementation's arithmetic, not how much
    // the op amplifies the rounding of its inputs: cross-entropy's logits of 1e4 move by up to
    // 5e-4 when rounded, which moves a probability by up to 1.2e-4, an element 10× off the 1e-5
    // bound with exact arithmetic (seen with seg_verify seeds 6, 11, 12, 13, 15, 29).
    std::vector<Tensor> inputs = op.make_inputs(i, seed);
    for (Tensor& t : inputs)
      if (t.defined() && t.dtype() == DType::F64) t = t.to(DType::F32).to(DType::F64);
    const std::vector<Tensor> ref = op.run(inputs, i, Backend::Reference);
    std::vector<Tensor> moved;
    for (const Tensor& t : inputs) {
      if (!t.defined()) {
        moved.emplace_back();
      } else {
        moved.push_back((t.dtype() == DType::F64 ? t.to(DType::F32) : t).to(device));
      }
    }
    CUSEG_CHECK(precision == Precision::F32 || op.bf16_tolerance > 0, op.name, " has no bf16 path");
    op.run(moved, i, exec);  // warm-up: first-call costs (cuDNN's algorithm search) untimed
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<Tensor> got = op.run(moved, i, exec);
    synchronize(device);
    r.milliseconds =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    r.pass = true;
    for (size_t k = 0; k < ref.size(); ++k) {
      // The reference's outputs were poisoned too, and compare() lets NaN match NaN: an element
      // that neither implementation writes is caught here. Every registered case's outputs are
      // finite by construction (bounded random inputs).
      if (const std::string unwritten = unwritten_element(ref[k]); !unwritten.empty()) {
        if (r.pass) r.detail = str_cat("output ", k, ": the reference ", unwritten, " (seed ", seed, ")");
        r.pass = false;
        continue;
      }
      const Comparison c = compare(got[k], ref[k]);
      const bool exact = !is_floating(ref[k].dtype());  // indices must match exactly
      const bool ok = exact ? (c.max_abs == 0 && c.nonfinite == 0) : c.ok(tolerance);
      r.rel_l2 = std::max(r.rel_l2, c.rel_l2);
      r.max_abs = std::max(r.max_abs, c.max_abs);
      r.max_rel = std::max(r.max_rel, c.max_rel());
      if (!ok && r.pass) {
        r.pass = false;
        r.detail = str_cat("output ", k, ": rel_l2 ", c.rel_l2, ", max_abs ", c.max_abs, " (", c.max_rel(),
                           " of max|ref| ", c.ref_max_abs, "), tolerance ", tolerance, ", ", c.nonfinite,
                           " non-finite mismatch(es), worst ", c.worst_where, " (seed ", seed, ")");
      }
    }
  } catch (const std::exception& e) {
    r.pass = false;
    r.detail = e.what();
  }
  return r;
}

}  // namespace cuseg
