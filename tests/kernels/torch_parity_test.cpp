// Parity with an independent implementation: every kernel family on the CPU in float64 against
// PyTorch (tests/torch_parity.py, run by Debian's /usr/bin/python3). Inputs travel in a
// safetensors file that the Python side reads with its own few lines over the published format;
// PyTorch's outputs come back the same way. Skipped, saying why, where PyTorch is missing
// (failed in CI, tests/oracle.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cuseg/core/safetensors.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/adaptive_pool2d.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/dice.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/elementwise_loss.h"
#include "cuseg/kernels/group_norm.h"
#include "cuseg/kernels/multiply.h"
#include "cuseg/kernels/pool2d.h"
#include "cuseg/kernels/softmax.h"
#include "cuseg/kernels/upsample.h"
#include "cuseg/core/philox.h"
#include "test_util.h"
#include "torch_runner.h"

namespace cuseg {
namespace {

using nlohmann::json;

Tensor f64(const Shape& s) { return Tensor::empty(s, DType::F64); }
Tensor zeros(const Shape& s) { return Tensor::zeros(s, DType::F64); }

struct Parity {
  std::map<std::string, Tensor> inputs, ours;
  json spec = json::array();
  uint64_t seed = 100;

  // Every case's tensors are named after the case: a name used twice would overwrite one case's
  // inputs with another's, so it is refused.
  Tensor input(const std::string& name, const Shape& s, double low = -1, double high = 1) {
    if (inputs.count(name)) throw Error("torch parity: two cases named " + name.substr(0, name.find('.')));
    return inputs[name] = test::random(s, seed++, low, high);
  }

  void conv(const std::string& n, const Shape& xs, const Shape& ws, Conv2dParams p) {
    spec.push_back({{"op", "conv2d"},
                    {"name", n},
                    {"stride", {p.stride_h, p.stride_w}},
                    {"pad", {p.pad_h, p.pad_w}},
                    {"pads", {p.pad_h, p.bottom(), p.pad_w, p.right()}},
                    {"groups", p.groups},
                    {"dil", {p.dil_h, p.dil_w}}});
    const Shape ys = conv2d_output_shape(xs, ws, p);
    Tensor x = input(n + ".x", xs), w = input(n + ".w", ws), b = input(n + ".b", Shape{ws[0]});
    Tensor g = input(n + ".g", ys);
    Tensor y = f64(ys), dx = f64(xs), dw = zeros(ws), db = zeros(Shape{ws[0]});
    conv2d_forward(x, w, y, p);
    conv2d_bias_forward(y, b);
    conv2d_backward_data(g, w, dx, p);
    conv2d_backward_filter(x, g, dw, p);
    conv2d_bias_backward(g, db);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}, {n + ".dw", dw}, {n + ".db", db}});
  }

  void conv_transpose(const std::string& n, const Shape& xs, const Shape& ws,
                      ConvTranspose2dParams p) {
    spec.push_back({{"op", "conv_transpose2d"},
                    {"name", n},
                    {"stride", {p.stride_h, p.stride_w}},
                    {"pad", {p.pad_h, p.pad_w}},
                    {"dil", {p.dil_h, p.dil_w}},
                    {"output_pad", {p.output_pad_h, p.output_pad_w}}});
    const Shape ys = conv_transpose2d_output_shape(xs, ws, p);
    Tensor x = input(n + ".x", xs), w = input(n + ".w", ws), b = input(n + ".b", Shape{ws[3]});
    Tensor g = input(n + ".g", ys);
    Tensor y = f64(ys), dx = f64(xs), dw = zeros(ws), db = zeros(Shape{ws[3]});
    conv_transpose2d_forward(x, w, y, p);
    conv2d_bias_forward(y, b);
    conv_transpose2d_backward_data(g, w, dx, p);
    conv_transpose2d_backward_filter(x, g, dw, p);
    conv2d_bias_backward(g, db);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}, {n + ".dw", dw}, {n + ".db", db}});
  }

  void pool(const std::string& n, bool max, const Shape& xs, Pool2dParams p) {
    spec.push_back({{"op", max ? "max_pool2d" : "avg_pool2d"},
                    {"name", n},
                    {"kernel", {p.kernel_h, p.kernel_w}},
                    {"stride", {p.stride_h, p.stride_w}},
                    {"pad", {p.pad_h, p.pad_w}},
                    {"count_include_pad", p.count_include_pad},
                    {"ceil_mode", p.ceil_mode}});
    const Shape ys = pool2d_output_shape(xs, p);
    // 24-bit random values: no ties, so both sides pick the same maximum.
    Tensor x = input(n + ".x", xs), g = input(n + ".g", ys);
    Tensor y = f64(ys), dx = f64(xs);
    if (max) {
      Tensor argmax = Tensor::empty(ys, DType::I32);
      max_pool2d_forward(x, y, argmax, p);
      max_pool2d_backward(g, argmax, dx, p);
    } else {
      avg_pool2d_forward(x, y, p);
      avg_pool2d_backward(g, dx, p);
    }
    ours.insert({{n + ".y", y}, {n + ".dx", dx}});
  }

  void adaptive_pool(const std::string& n, const Shape& xs, const Shape& ys) {
    spec.push_back({{"op", "adaptive_avg_pool2d"}, {"name", n}, {"size", {ys[1], ys[2]}}});
    Tensor x = input(n + ".x", xs), g = input(n + ".g", ys);
    Tensor y = f64(ys), dx = f64(xs);
    adaptive_avg_pool2d_forward(x, y);
    adaptive_avg_pool2d_backward(g, dx);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}});
  }

  void softmax(const std::string& n, bool log, const Shape& s) {
    spec.push_back({{"op", log ? "log_softmax" : "softmax"}, {"name", n}});
    Tensor x = input(n + ".x", s, -3, 3), g = input(n + ".g", s);
    Tensor y = f64(s), dx = f64(s);
    (log ? log_softmax_forward : softmax_forward)(x, y, Backend::Auto);
    (log ? log_softmax_backward : softmax_backward)(y, g, dx, Backend::Auto);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}});
  }

  void activation(const std::string& n, ActivationKind kind, const Shape& s, double range = 3) {
    spec.push_back({{"op", "activation"}, {"name", n}, {"kind", activation_name(kind)}, {"slope", 0.1}});
    Tensor x = input(n + ".x", s, -range, range), g = input(n + ".g", s);
    Tensor y = f64(s), dx = f64(s);
    activation_forward(x, y, {kind, 0.1});
    activation_backward(x, y, g, dx, {kind, 0.1});
    ours.insert({{n + ".y", y}, {n + ".dx", dx}});
  }

  // y = x * s with PyTorch's broadcasting (both NHWC here: broadcasting does not care), and the
  // gradients autograd gives x and s.
  void multiply(const std::string& n, const Shape& xs, const Shape& ss) {
    spec.push_back({{"op", "multiply"}, {"name", n}});
    Tensor x = input(n + ".x", xs, -2, 2), s = input(n + ".s", ss, -2, 2), g = input(n + ".g", xs);
    Tensor y = f64(xs), dx = f64(xs), ds = f64(ss);
    multiply_forward(x, s, y);
    multiply_backward(x, s, g, dx, ds);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}, {n + ".ds", ds}});
  }

  void upsample(const std::string& n, UpsampleMode mode, const Shape& xs, const Shape& ys) {
    spec.push_back({{"op", "upsample"}, {"name", n}, {"mode", mode == UpsampleMode::Nearest ? "nearest" : "bilinear"},
                    {"align_corners", mode == UpsampleMode::BilinearAlignCorners},
                    {"size", {ys[1], ys[2]}}});
    Tensor x = input(n + ".x", xs), g = input(n + ".g", ys);
    Tensor y = f64(ys), dx = f64(xs);
    upsample_forward(x, y, mode);
    upsample_backward(g, dx, mode);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}});
  }

  // Training forward and backward, the running statistics it leaves, then inference with them.
  void batch_norm(const std::string& n, const Shape& s) {
    const BatchNormParams p{1e-5, 0.1};
    spec.push_back({{"op", "batch_norm"}, {"name", n}, {"eps", p.eps}, {"momentum", p.momentum}});
    const Shape c{s[3]};
    Tensor x = input(n + ".x", s, -2, 3), g = input(n + ".g", s);
    Tensor gamma = input(n + ".gamma", c, 0.5, 1.5), beta = input(n + ".beta", c);
    Tensor rm = input(n + ".running_mean", c).clone(), rv = input(n + ".running_var", c, 0.5, 2).clone();
    Tensor y = f64(s), mean = f64(c), invstd = f64(c), dx = f64(s), dgamma = zeros(c), dbeta = zeros(c), y_eval = f64(s);
    batch_norm_forward_training(x, gamma, beta, y, mean, invstd, rm, rv, p);
    batch_norm_backward(x, g, gamma, mean, invstd, dx, dgamma, dbeta, p);
    batch_norm_forward_inference(x, gamma, beta, rm, rv, y_eval, p);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}, {n + ".dgamma", dgamma}, {n + ".dbeta", dbeta},
                 {n + ".running_mean", rm}, {n + ".running_var", rv}, {n + ".y_eval", y_eval}});
  }

  // Forward (y and the saved statistics, against torch.native_group_norm's mean and rstd) and
  // backward.
  void group_norm(const std::string& n, const Shape& s, int groups, bool relu = false) {
    const GroupNormParams p{groups, 1e-5};
    spec.push_back({{"op", "group_norm"}, {"name", n}, {"groups", groups}, {"eps", p.eps}, {"relu", relu}});
    const Shape c{s[3]}, stats{s[0], groups};
    Tensor x = input(n + ".x", s, -2, 3), g = input(n + ".g", s);
    Tensor gamma = input(n + ".gamma", c, 0.5, 1.5), beta = input(n + ".beta", c);
    Tensor y = f64(s), mean = f64(stats), invstd = f64(stats), dx = f64(s), dgamma = zeros(c), dbeta = zeros(c);
    if (relu) {
      group_norm_relu_forward(x, gamma, beta, y, mean, invstd, p);
      group_norm_relu_backward(x, y, g, gamma, mean, invstd, dx, dgamma, dbeta, p);
    } else {
      group_norm_forward(x, gamma, beta, y, mean, invstd, p);
      group_norm_backward(x, g, gamma, mean, invstd, dx, dgamma, dbeta, p);
    }
    ours.insert({{n + ".y", y}, {n + ".mean", mean}, {n + ".rstd", invstd}, {n + ".dx", dx},
                 {n + ".dgamma", dgamma}, {n + ".dbeta", dbeta}});
  }

  // Channel dropout: PyTorch's Dropout2d rule, x·noise/(1 − p) with noise one Bernoulli per (n, c),
  // applied to cuseg's own mask (PyTorch's generator is not ours).
  void dropout2d(const std::string& n, const Shape& s, double p) {
    const DropoutParams d{p, 31, 77};
    spec.push_back({{"op", "dropout2d"}, {"name", n}, {"p", p}});
    Tensor x = input(n + ".x", s), g = input(n + ".g", s);
    Tensor y = f64(s), dx = f64(s), mask = Tensor::empty(group_dropout_mask_shape(s, true), DType::U8);
    dropout2d_forward(x, y, mask, d);
    dropout2d_backward(g, mask, dx, d);
    inputs[n + ".mask"] = mask;
    ours.insert({{n + ".y", y}, {n + ".dx", dx}});
  }

  // Drop path against efficientnet_pytorch's drop_connect written out — keep_prob = 1 − p,
  // x / keep_prob · floor(keep_prob + U) — with U the per-sample uniforms of cuseg's stream
  // (philox_uniform01(seed, offset + n)), so the two Bernoulli rules are compared, not only the
  // scaling.
  void drop_path(const std::string& n, const Shape& s, double p) {
    const DropoutParams d{p, 41, 5};
    spec.push_back({{"op", "drop_path"}, {"name", n}, {"p", p}});
    Tensor x = input(n + ".x", s), g = input(n + ".g", s);
    std::vector<double> u(static_cast<size_t>(s[0]));
    for (size_t i = 0; i < u.size(); ++i) u[i] = philox_uniform01(d.seed, d.offset + i);
    inputs[n + ".u"] = Tensor::from_vector(u, Shape{s[0], 1, 1, 1});
    Tensor y = f64(s), dx = f64(s), mask = Tensor::empty(group_dropout_mask_shape(s, false), DType::U8);
    drop_path_forward(x, y, mask, d);
    drop_path_backward(g, mask, dx, d);
    ours.insert({{n + ".y", y}, {n + ".dx", dx}});
  }

  void elementwise_loss(const std::string& n, ElementwiseLossKind kind, const Shape& s) {
    const char* names[] = {"bce", "mse", "smooth_l1"};
    const ElementwiseLossParams p{kind, 0.6};
    spec.push_back({{"op", "elementwise_loss"}, {"name", n}, {"kind", names[int(kind)]}, {"beta", p.beta}});
    const bool bce = kind == ElementwiseLossKind::Bce;
    Tensor x = input(n + ".x", s, -3, 3), t = input(n + ".target", s, bce ? 0 : -3, bce ? 1 : 3);
    Tensor pw = bce ? input(n + ".pos_weight", Shape{s[3]}, 0.5, 3) : Tensor();
    Tensor loss = f64(Shape{1}), dx = f64(s);
    elementwise_loss_forward(x, t, pw, loss, p);
    elementwise_loss_backward(x, t, pw, dx, 0.75, p);
    ours.insert({{n + ".loss", loss}, {n + ".dx", dx}});
  }

  // Labels with some ignored pixels (ignore −1), for focal and Dice.
  Tensor labels_for(const std::string& n, const Shape& s, int ignore) {
    std::vector<int32_t> labels(size_t(s[0] * s[1] * s[2]));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = i % 5 == 1 ? ignore : int32_t((i * 3 + 2) % size_t(s[3]));
    return inputs[n + ".labels"] = Tensor::from_vector(labels, Shape{s[0], s[1], s[2]});
  }

  void focal(const std::string& n, const Shape& s, double gamma) {
    spec.push_back({{"op", "focal"}, {"name", n}, {"gamma", gamma}, {"ignore_index", -1}});
    Tensor logits = input(n + ".logits", s, -3, 3), weights = input(n + ".weights", Shape{s[3]}, 0.25, 2);
    Tensor lt = labels_for(n, s, -1);
    const SoftmaxCrossEntropyParams p{-1, 0, gamma};
    Tensor loss = f64(Shape{1}), ws = f64(Shape{1}), d = f64(s);
    softmax_cross_entropy_forward(logits, lt, weights, loss, ws, p);
    softmax_cross_entropy_backward(logits, lt, weights, ws, d, 0.75, p);
    ours.insert({{n + ".loss", loss}, {n + ".dlogits", d}});
  }

  void dice(const std::string& n, const Shape& s, double smooth) {
    spec.push_back({{"op", "dice"}, {"name", n}, {"smooth", smooth}, {"ignore_index", -1}});
    Tensor logits = input(n + ".logits", s, -3, 3);
    Tensor lt = labels_for(n, s, -1);
    const DiceParams p{smooth, -1};
    Tensor loss = f64(Shape{1}), stats = f64(Shape{2, s[3]}), d = f64(s);
    dice_forward(logits, lt, loss, stats, p);
    dice_backward(logits, lt, stats, d, 0.75, p);
    ours.insert({{n + ".loss", loss}, {n + ".dlogits", d}});
  }

  void cross_entropy(const std::string& n, const Shape& s, int ignore_index, double smoothing = 0) {
    spec.push_back(
        {{"op", "cross_entropy"}, {"name", n}, {"ignore_index", ignore_index}, {"label_smoothing", smoothing}});
    const int classes = int(s[3]);
    Tensor logits = input(n + ".logits", s, -3, 3),
           weights = input(n + ".weights", Shape{classes}, 0.25, 2);
    std::vector<int32_t> labels(size_t(s[0] * s[1] * s[2]));
    for (size_t i = 0; i < labels.size(); ++i)
      labels[i] = i % 7 == 2 ? ignore_index : int32_t((i * 5 + 1) % size_t(classes));
    Tensor lt = inputs[n + ".labels"] = Tensor::from_vector(labels, Shape{s[0], s[1], s[2]});
    Tensor loss = f64(Shape{1}), weight_sum = f64(Shape{1}), d = f64(s);
    softmax_cross_entropy_forward(logits, lt, weights, loss, weight_sum, {ignore_index, smoothing});
    softmax_cross_entropy_backward(logits, lt, weights, weight_sum, d, 0.75, {ignore_index, smoothing});
    ours.insert({{n + ".loss", loss}, {n + ".dlogits", d}});
  }
};

TEST(TorchParity, EveryKernelFamilyMatchesPyTorchInDouble) {
  CUSEG_REQUIRE_TORCH();

  Parity t;
  t.conv("c0", {2, 7, 9, 3}, {4, 3, 3, 3}, {2, 1, 1, 1, 1, 2});
  t.conv("c1", {1, 6, 5, 2}, {3, 1, 1, 2}, {1, 1, 0, 0, 1, 1});
  t.conv("c2", {2, 8, 8, 4}, {5, 3, 3, 4}, {1, 1, 1, 1, 1, 1});
  // Grouped and depthwise (PyTorch's groups; its weight [K, C/g, R, S] is ours permuted), and
  // asymmetric padding (F.pad, then no padding), as EfficientNet's "same" convolutions.
  t.conv("c3", {2, 9, 8, 6}, {6, 3, 3, 1}, {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 6});
  t.conv("c4", {1, 11, 10, 3}, {6, 3, 3, 1}, {.pad_h = 2, .pad_w = 2, .dil_h = 2, .dil_w = 2, .groups = 3});
  t.conv("c5", {1, 7, 6, 12}, {8, 3, 2, 3}, {.stride_w = 2, .pad_h = 1, .groups = 4});
  t.conv("c6", {1, 13, 16, 4}, {6, 5, 5, 4}, same_padding({2, 2, 0, 0, 1, 1}, 13, 16, 5, 5));
  t.conv("c7", {2, 10, 12, 8}, {8, 3, 3, 1}, same_padding({.stride_h = 2, .stride_w = 2, .groups = 8}, 10, 12, 3, 3));
  t.conv("c8", {1, 17, 15, 3}, {4, 7, 7, 3}, {2, 2, 3, 3, 1, 1});
  t.conv_transpose("t0", {2, 4, 5, 3}, {3, 3, 3, 2}, {2, 2, 1, 1, 1, 1, 1, 0});
  t.conv_transpose("t1", {1, 3, 3, 4}, {4, 2, 2, 3}, {2, 2, 0, 0, 1, 1, 0, 0});
  t.pool("m0", true, {2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, true});
  t.pool("m1", true, {1, 8, 8, 2}, {2, 2, 2, 2, 0, 0, true});
  t.pool("a0", false, {2, 7, 9, 3}, {3, 2, 2, 1, 1, 1, true});
  t.pool("a1", false, {2, 7, 9, 3}, {3, 2, 2, 1, 1, 1, false});
  // Ceil mode: windows hanging past the right padding (the divisor shrinks with
  // count_include_pad), and a last window that would start in the padding, dropped.
  t.pool("m2", true, {2, 7, 8, 3}, {3, 3, 2, 2, 1, 1, true, true});
  t.pool("m3", true, {1, 11, 13, 2}, {3, 2, 3, 2, 1, 1, true, true});
  t.pool("a2", false, {2, 7, 8, 3}, {3, 3, 2, 2, 1, 1, true, true});
  t.pool("a3", false, {2, 7, 8, 3}, {3, 3, 2, 2, 1, 1, false, true});
  t.pool("a4", false, {1, 6, 6, 1}, {2, 2, 4, 4, 1, 1, true, true});
  t.pool("a5", false, {1, 10, 9, 2}, {4, 3, 3, 2, 2, 1, true, true});
  t.adaptive_pool("p0", {2, 7, 7, 3}, {2, 1, 1, 3});
  t.adaptive_pool("p1", {1, 1, 1, 2}, {1, 1, 1, 2});
  t.adaptive_pool("p2", {2, 7, 9, 3}, {2, 3, 4, 3});
  t.adaptive_pool("p3", {1, 10, 13, 2}, {1, 6, 5, 2});
  t.adaptive_pool("p4", {1, 3, 4, 2}, {1, 5, 7, 2});
  t.adaptive_pool("p5", {1, 16, 16, 4}, {1, 1, 1, 4});
  t.softmax("s0", false, {2, 3, 4, 5});
  t.softmax("l0", true, {2, 3, 4, 5});
  t.activation("r0", ActivationKind::Relu, {2, 3, 4, 5});
  t.activation("k0", ActivationKind::LeakyRelu, {2, 3, 4, 5});
  t.activation("g0", ActivationKind::Sigmoid, {2, 3, 4, 5});
  t.activation("h0", ActivationKind::Tanh, {2, 3, 4, 5});
  t.activation("r6", ActivationKind::Relu6, {2, 3, 4, 5}, 9);  // both clips
  t.activation("w0", ActivationKind::Silu, {2, 3, 4, 5}, 6);
  t.activation("w1", ActivationKind::Silu, {1, 4, 5, 3}, 60);  // σ's limits
  t.multiply("mu0", {2, 5, 4, 3}, {2, 1, 1, 3});  // channel attention, squeeze-excitation
  t.multiply("mu1", {2, 5, 4, 3}, {2, 5, 4, 1});  // spatial attention
  t.multiply("mu2", {2, 5, 4, 3}, {2, 5, 4, 3});  // the plain product
  t.multiply("mu3", {3, 4, 5, 2}, {1, 4, 1, 2});  // two repeated runs
  t.upsample("u0", UpsampleMode::Nearest, {2, 4, 5, 3}, {2, 8, 10, 3});
  t.upsample("u1", UpsampleMode::Nearest, {1, 5, 7, 2}, {1, 9, 4, 2});
  t.upsample("u2", UpsampleMode::Bilinear, {2, 4, 5, 3}, {2, 8, 10, 3});
  t.upsample("u3", UpsampleMode::Bilinear, {1, 5, 7, 2}, {1, 9, 4, 2});
  t.upsample("u4", UpsampleMode::Bilinear, {1, 6, 6, 1}, {1, 13, 11, 1});
  // Down by non-integer ratios, up by 4, out = 1 and in = 1, in every mode.
  const UpsampleMode modes[] = {UpsampleMode::Nearest, UpsampleMode::Bilinear, UpsampleMode::BilinearAlignCorners};
  for (int m = 0; m < 3; ++m) {
    const std::string k = std::to_string(m);
    t.upsample("v0." + k, modes[m], {2, 13, 11, 3}, {2, 5, 7, 3});
    t.upsample("v1." + k, modes[m], {1, 9, 10, 2}, {1, 6, 4, 2});
    t.upsample("v2." + k, modes[m], {1, 4, 5, 2}, {1, 16, 20, 2});
    t.upsample("v3." + k, modes[m], {1, 7, 9, 2}, {1, 1, 1, 2});
    t.upsample("v4." + k, modes[m], {2, 1, 1, 3}, {2, 5, 4, 3});
    t.upsample("v5." + k, modes[m], {1, 5, 7, 2}, {1, 9, 4, 2});
  }
  t.batch_norm("b0", {2, 5, 4, 3});
  t.batch_norm("b1", {1, 3, 7, 6});
  t.group_norm("gn0", {2, 5, 3, 64}, 32);
  t.group_norm("gn1", {1, 3, 7, 6}, 1);
  t.group_norm("gn2", {2, 4, 5, 6}, 6);
  t.group_norm("gn3", {3, 5, 7, 12}, 4);
  t.group_norm("gn4", {2, 5, 3, 64}, 32, true);
  t.dropout2d("dd0", {4, 3, 5, 16}, 0.5);
  t.dropout2d("dd1", {2, 3, 3, 7}, 0.25);
  t.drop_path("dp0", {16, 3, 2, 4}, 0.25);
  t.drop_path("dp1", {9, 2, 3, 5}, 0.5);
  t.elementwise_loss("x0", ElementwiseLossKind::Bce, {2, 3, 4, 3});
  t.elementwise_loss("x1", ElementwiseLossKind::Mse, {2, 3, 4, 3});
  t.elementwise_loss("x2", ElementwiseLossKind::SmoothL1, {2, 3, 4, 3});
  t.focal("f0", {2, 3, 4, 5}, 2.0);
  t.focal("f1", {1, 5, 3, 7}, 0.5);
  t.dice("d0", {2, 3, 4, 5}, 1.0);
  t.dice("d1", {1, 6, 5, 3}, 1e-3);
  t.cross_entropy("e0", {2, 3, 4, 5}, -100);
  t.cross_entropy("e1", {1, 5, 3, 21}, 255);
  t.cross_entropy("e2", {2, 3, 4, 5}, -100, 0.1);
  t.cross_entropy("e3", {1, 5, 3, 21}, 255, 0.3);

  const SafetensorsFile theirs = test::run_torch_script("torch_parity.py", t.inputs, t.spec.dump());
  EXPECT_EQ(theirs.tensors.size(), t.ours.size());
  for (const auto& [name, ours] : t.ours) {
    auto it = theirs.tensors.find(name);
    ASSERT_NE(it, theirs.tensors.end()) << "PyTorch gave no " << name;
    EXPECT_TRUE(test::close(ours, it->second, 1e-12, "vs PyTorch: " + name, 100));
  }
}

}  // namespace
}  // namespace cuseg
