// Parity with an independent implementation: every kernel family on the CPU in float64 against
// PyTorch (tests/torch_parity.py, run by Debian's /usr/bin/python3). Inputs travel in a
// safetensors file that the Python side reads with its own few lines over the published format;
// PyTorch's outputs come back the same way. Skipped, saying why, where PyTorch is missing
// (failed in CI, tests/oracle.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cuseg/core/safetensors.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/dice.h"
#include "cuseg/kernels/elementwise_loss.h"
#include "cuseg/kernels/multiply.h"
#include "cuseg/kernels/pool2d.h"
#include "cuseg/kernels/softmax.h"
#include "cuseg/kernels/upsample.h"
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

  Tensor input(const std::string& name, const Shape& s, double low = -1, double high = 1) {
    return inputs[name] = test::random(s, seed++, low, high);
  }

  void conv(const std::string& n, const Shape& xs, const Shape& ws, Conv2dParams p) {
    spec.push_back({{"op", "conv2d"},
                    {"name", n},
                    {"stride", {p.stride_h, p.stride_w}},
                    {"pad", {p.pad_h, p.pad_w}},
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
                    {"count_include_pad", p.count_include_pad}});
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
  t.conv_transpose("t0", {2, 4, 5, 3}, {3, 3, 3, 2}, {2, 2, 1, 1, 1, 1, 1, 0});
  t.conv_transpose("t1", {1, 3, 3, 4}, {4, 2, 2, 3}, {2, 2, 0, 0, 1, 1, 0, 0});
  t.pool("m0", true, {2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, true});
  t.pool("m1", true, {1, 8, 8, 2}, {2, 2, 2, 2, 0, 0, true});
  t.pool("a0", false, {2, 7, 9, 3}, {3, 2, 2, 1, 1, 1, true});
  t.pool("a1", false, {2, 7, 9, 3}, {3, 2, 2, 1, 1, 1, false});
  t.softmax("s0", false, {2, 3, 4, 5});
  t.softmax("l0", true, {2, 3, 4, 5});
  t.activation("r0", ActivationKind::Relu, {2, 3, 4, 5});
  t.activation("k0", ActivationKind::LeakyRelu, {2, 3, 4, 5});
  t.activation("g0", ActivationKind::Sigmoid, {2, 3, 4, 5});
  t.activation("h0", ActivationKind::Tanh, {2, 3, 4, 5});
  t.activation("r6", ActivationKind::Relu6, {2, 3, 4, 5}, 9);  // both clips
  t.activation("w0", ActivationKind::Silu, {2, 3, 4, 5}, 6);
  t.activation("w1", ActivationKind::Silu, {1, 4, 5, 3}, 60);  // σ's limits
  t.multiply("p0", {2, 5, 4, 3}, {2, 1, 1, 3});  // channel attention, squeeze-excitation
  t.multiply("p1", {2, 5, 4, 3}, {2, 5, 4, 1});  // spatial attention
  t.multiply("p2", {2, 5, 4, 3}, {2, 5, 4, 3});  // the plain product
  t.multiply("p3", {3, 4, 5, 2}, {1, 4, 1, 2});  // two repeated runs
  t.upsample("u0", UpsampleMode::Nearest, {2, 4, 5, 3}, {2, 8, 10, 3});
  t.upsample("u1", UpsampleMode::Nearest, {1, 5, 7, 2}, {1, 9, 4, 2});
  t.upsample("u2", UpsampleMode::Bilinear, {2, 4, 5, 3}, {2, 8, 10, 3});
  t.upsample("u3", UpsampleMode::Bilinear, {1, 5, 7, 2}, {1, 9, 4, 2});
  t.upsample("u4", UpsampleMode::Bilinear, {1, 6, 6, 1}, {1, 13, 11, 1});
  t.batch_norm("b0", {2, 5, 4, 3});
  t.batch_norm("b1", {1, 3, 7, 6});
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
