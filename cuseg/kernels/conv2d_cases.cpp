// The test cases of the convolution ops (conv2d.h): in the op registry (verify/registry.h), which
// checks them on every implementation their descriptors name. Not part of libcuseg.
#include "cuseg/kernels/conv2d.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

struct ConvCase {
  Shape x, w;
  Conv2dParams p;
  bool unet = false;
};

Conv2dParams grouped(Conv2dParams p, int groups) {
  p.groups = groups;
  return p;
}

// TensorFlow's "same" padding (EfficientNet) for x and w at stride `stride`.
Conv2dParams same(const Shape& x, const Shape& w, int stride, int groups = 1) {
  return same_padding(grouped({stride, stride, 0, 0, 1, 1}, groups), x[1], x[2], w[1], w[2]);
}

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {{1, 5, 7, 1}, {1, 3, 3, 1}, {1, 1, 1, 1, 1, 1}},             // batch 1, one channel
      {{2, 9, 11, 3}, {5, 3, 3, 3}, {2, 2, 1, 1, 1, 1}},            // RGB, odd sizes, stride 2
      {{3, 13, 10, 7}, {9, 5, 3, 7}, {1, 1, 2, 1, 1, 2}},           // non-square, dilated
      {{2, 17, 19, 33}, {65, 3, 3, 33}, {1, 1, 1, 1, 1, 1}},        // no multiple of any tile
      {{1, 8, 8, 16}, {8, 1, 1, 16}, {1, 1, 0, 0, 1, 1}},           // 1×1 (the U-Net head)
      {{1, 10, 10, 4}, {3, 3, 3, 4}, {3, 2, 2, 2, 2, 2}},           // stride 3×2, dilation 2
      {{2, 64, 64, 64}, {64, 3, 3, 64}, {1, 1, 1, 1, 1, 1}, true},  // a U-Net level
      // Wide enough for the fast path's Winograd (onednn/conv2d.cpp), on 63×66: no multiple of its 4×4 tiles.
      {{1, 63, 66, 32}, {48, 3, 3, 32}, {1, 1, 1, 1, 1, 1}, true},
      {{1, 23, 21, 3}, {8, 7, 7, 3}, {2, 2, 3, 3, 1, 1}},           // ResNet's stem: 7×7, stride 2, pad 3
      // Depthwise (groups = C): MobileNetV2 and EfficientNet, stride 1 and 2, 3×3 and 5×5.
      {{2, 9, 11, 8}, {8, 3, 3, 1}, grouped({1, 1, 1, 1, 1, 1}, 8)},
      {{1, 15, 13, 6}, {6, 3, 3, 1}, grouped({2, 2, 1, 1, 1, 1}, 6)},
      {{1, 11, 9, 5}, {5, 5, 5, 1}, grouped({2, 2, 2, 2, 1, 1}, 5)},
      // DeepLabV3+'s separable ASPP: depthwise 3×3 at dilation 12 (padding 12 keeps the size).
      {{1, 30, 27, 4}, {4, 3, 3, 1}, grouped({1, 1, 12, 12, 12, 12}, 4)},
      {{2, 7, 9, 3}, {6, 3, 3, 1}, grouped({1, 1, 1, 1, 1, 1}, 3)},  // channel multiplier 2 (K = 2C)
      {{1, 8, 10, 6}, {10, 3, 3, 3}, grouped({1, 1, 1, 1, 1, 1}, 2)},  // 2 groups, 3 → 5 channels each
      {{2, 7, 7, 12}, {20, 3, 3, 3}, grouped({2, 2, 1, 1, 1, 1}, 4)},  // 4 groups, 3 → 5, stride 2
      // "Same" padding: a 5×5 stride 2 on 13×16 pads rows (2, 2) and columns (1, 2); a depthwise
      // 3×3 stride 2 on 10×12 pads (0, 1) both ways (EfficientNet's downsampling blocks).
      {{1, 13, 16, 4}, {6, 5, 5, 4}, same({1, 13, 16, 4}, {6, 5, 5, 4}, 2)},
      {{2, 10, 12, 8}, {8, 3, 3, 1}, same({2, 10, 12, 8}, {8, 3, 3, 1}, 2, 8)},
      {{2, 56, 56, 96}, {96, 3, 3, 1}, grouped({1, 1, 1, 1, 1, 1}, 96), true},  // MobileNetV2's depthwise
  };
  return cases;
}

std::vector<OpCase> op_cases_of_conv() {
  std::vector<OpCase> out;
  for (const ConvCase& c : conv_cases())
    out.push_back({str_cat("x", c.x.str(), " w", c.w.str(), " s", c.p.stride_h, "x", c.p.stride_w, " p", c.p.pad_h,
                           "x", c.p.pad_w,
                           c.p.symmetric() ? std::string() : str_cat(" (bottom ", c.p.bottom(), ", right ", c.p.right(), ")"),
                           " d", c.p.dil_h, "x", c.p.dil_w, c.p.groups == 1 ? std::string() : str_cat(" g", c.p.groups)),
                   c.unet});
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
    out.push_back({str_cat("x", c.x.str(), " w", c.w.str(), " s", c.p.stride_h, " p", c.p.pad_h, " d", c.p.dil_h,
                           " op", c.p.output_pad_h, "x", c.p.output_pad_w),
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
// tf32 (the GPU's tensor cores): 3 more mantissa bits than bf16, so 8× less rounding error.
// On the emulated tensor cores, `seg_verify --device cuda --op conv` seeds 1–3, every case: worst
// relative L2 8.1e-4 in tf32 and 3.9e-3 in bf16 (both a 1-channel transposed filter gradient).
constexpr double kTf32Tolerance = 2e-3;
// Weight and bias gradients sum over every output pixel of the batch: float32 error grows with
// that length, hence 1e-4.
constexpr double kGradientSumTolerance = 1e-4;

const ConvCase& conv(int i) { return conv_cases()[size_t(i)]; }
const ConvTransposeCase& transposed(int i) { return conv_transpose_cases()[size_t(i)]; }

std::vector<OpSpec> conv2d_specs() {
  const auto cases = op_cases_of_conv();
  const auto tcases = op_cases_of_conv_transpose();
  return {
      {.name = "conv2d_forward",
       .cases = cases,
       .tf32_tolerance = kTf32Tolerance,
       .bf16_tolerance = kBf16Tolerance,
       .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(conv(i).x, seed), random_f64(conv(i).w, seed + 1)}; },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor y = output(in, conv2d_output_shape(conv(i).x, conv(i).w, conv(i).p));
             conv2d_forward(in[0], in[1], y, with_precision(conv(i).p, e.precision), e);
             return std::vector<Tensor>{y};
           }},
      {.name = "conv2d_backward_data",
       .cases = cases,
       .tf32_tolerance = kTf32Tolerance,
       .bf16_tolerance = kBf16Tolerance,
       .make_inputs =
           [](int i, uint64_t seed) {
             return std::vector<Tensor>{random_f64(conv2d_output_shape(conv(i).x, conv(i).w, conv(i).p), seed),
                                        random_f64(conv(i).w, seed + 1)};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dx = output(in, conv(i).x);
             conv2d_backward_data(in[0], in[1], dx, with_precision(conv(i).p, e.precision), e);
             return std::vector<Tensor>{dx};
           }},
      {.name = "conv2d_backward_filter",
       .cases = cases,
       .tolerance = kGradientSumTolerance,
       .tf32_tolerance = kTf32Tolerance,
       .bf16_tolerance = kBf16Tolerance,
       .make_inputs =
           [](int i, uint64_t seed) {
             return std::vector<Tensor>{random_f64(conv(i).x, seed),
                                        random_f64(conv2d_output_shape(conv(i).x, conv(i).w, conv(i).p), seed + 1)};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dw = accumulator(in, conv(i).w);
             conv2d_backward_filter(in[0], in[1], dw, with_precision(conv(i).p, e.precision), e);
             return std::vector<Tensor>{dw};
           }},
      {.name = "conv2d_bias_forward",
       .cases = cases,
       .make_inputs =
           [](int i, uint64_t seed) {
             return std::vector<Tensor>{random_f64(conv2d_output_shape(conv(i).x, conv(i).w, conv(i).p), seed),
                                        random_f64(Shape{conv(i).w[0]}, seed + 1)};
           },
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor y = in[0].clone();  // in place: y += b
             conv2d_bias_forward(y, in[1], e);
             return std::vector<Tensor>{y};
           }},
      {.name = "conv2d_bias_backward",
       .cases = cases,
       .tolerance = kGradientSumTolerance,
       .make_inputs =
           [](int i, uint64_t seed) {
             return std::vector<Tensor>{random_f64(conv2d_output_shape(conv(i).x, conv(i).w, conv(i).p), seed)};
           },
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor db = accumulator(in, Shape{in[0].dim(3)});
             conv2d_bias_backward(in[0], db, e);
             return std::vector<Tensor>{db};
           }},
      {.name = "conv_transpose2d_forward",
       .cases = tcases,
       .tf32_tolerance = kTf32Tolerance,
       .bf16_tolerance = kBf16Tolerance,
       .make_inputs =
           [](int i, uint64_t seed) {
             return std::vector<Tensor>{random_f64(transposed(i).x, seed), random_f64(transposed(i).w, seed + 1)};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             const ConvTransposeCase& c = transposed(i);
             Tensor y = output(in, conv_transpose2d_output_shape(c.x, c.w, c.p));
             conv_transpose2d_forward(in[0], in[1], y, with_precision(c.p, e.precision), e);
             return std::vector<Tensor>{y};
           }},
      {.name = "conv_transpose2d_backward_data",
       .cases = tcases,
       .tf32_tolerance = kTf32Tolerance,
       .bf16_tolerance = kBf16Tolerance,
       .make_inputs =
           [](int i, uint64_t seed) {
             const ConvTransposeCase& c = transposed(i);
             return std::vector<Tensor>{random_f64(conv_transpose2d_output_shape(c.x, c.w, c.p), seed),
                                        random_f64(c.w, seed + 1)};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dx = output(in, transposed(i).x);
             conv_transpose2d_backward_data(in[0], in[1], dx, with_precision(transposed(i).p, e.precision), e);
             return std::vector<Tensor>{dx};
           }},
      {.name = "conv_transpose2d_backward_filter",
       .cases = tcases,
       .tolerance = kGradientSumTolerance,
       .tf32_tolerance = kTf32Tolerance,
       .bf16_tolerance = kBf16Tolerance,
       .make_inputs =
           [](int i, uint64_t seed) {
             const ConvTransposeCase& c = transposed(i);
             return std::vector<Tensor>{random_f64(c.x, seed),
                                        random_f64(conv_transpose2d_output_shape(c.x, c.w, c.p), seed + 1)};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dw = accumulator(in, transposed(i).w);
             conv_transpose2d_backward_filter(in[0], in[1], dw, with_precision(transposed(i).p, e.precision), e);
             return std::vector<Tensor>{dw};
           }},
  };
}

const OpTests kTests("conv2d", conv2d_specs);

}  // namespace
}  // namespace cuseg
