// Every layer of cuseg/layers/layers.h through its own forward and backward, as Caffe tests its
// layers: what the layer adds to its kernels (which kernel in which mode, the state it keeps for
// backward, where its parameter gradients go, its offsets) is checked here and nowhere else. The
// CPU reference in double against finite differences, input and parameter gradients alike; then
// the fast CPU path and our CUDA kernels (on the emulated device in CI) in float32 against that
// reference: output, input gradients, parameter gradients and buffers. One table of cases
// (layer_cases()): a new layer, or a new mode of one, is one entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "cuseg/config.h"
#include "cuseg/layers/layers.h"
#include "error_matchers.h"
#include "test_util.h"
#include "verify/registry.h"

namespace cuseg {
namespace {

constexpr uint64_t kSeed = 42;
// Parameter gradients accumulate (layer.h): they start here, so that a layer that assigns them
// fails, and the contribution is what they end at less this.
constexpr double kGradStart = 0.375;

struct LayerCase {
  std::string name;           // the test's name: letters, digits and underscores
  std::vector<Shape> inputs;  // NHWC
  // A fresh layer, f32 on the CPU, its parameters and buffers from fixed seeds.
  std::function<std::unique_ptr<Layer>()> make;
  bool training = true;
  // false: the layer refuses backward in this mode (batch norm in inference), which is checked.
  bool backward = true;
  // Run before every forward. Dropout draws a new mask each training forward; the checks need one
  // mask, so its offset goes back to where it was.
  std::function<void(Layer&)> before_forward;
  // Where the gradients cannot show it (batch norm in inference mode, the running statistics):
  // checks the reference's forward in double against the layer's definition, given the inputs,
  // the output, and the layer after that one forward.
  std::function<void(const std::vector<Tensor>& x, const Tensor& y, Layer& after)> check_forward;
};

std::ostream& operator<<(std::ostream& os, const LayerCase& c) { return os << c.name; }

LayerCase layer_case(const std::string& name, const std::vector<Shape>& inputs,
                     std::function<std::unique_ptr<Layer>()> make) {
  LayerCase c;
  c.name = name;
  c.inputs = inputs;
  c.make = std::move(make);
  return c;
}

// ---- the table -------------------------------------------------------------------------------

LayerCase conv(const std::string& name, const Shape& x, int out_channels, int kernel,
               const Conv2dParams& p, bool bias) {
  return layer_case(name, {x}, [=] {
    return std::make_unique<Conv2d>("conv", int(x[3]), out_channels, kernel, p, bias, 11);
  });
}

LayerCase conv_transpose(const std::string& name, const Shape& x, int out_channels, int kernel,
                         const ConvTranspose2dParams& p, bool bias) {
  return layer_case(name, {x}, [=] {
    return std::make_unique<ConvTranspose2d>("up", int(x[3]), out_channels, kernel, p, bias, 12);
  });
}

// Random scale, shift and running statistics: fresh ones (1, 0, 0, 1) would hide a swapped or
// ignored tensor.
LayerCase batch_norm(const std::string& name, bool relu, bool training) {
  LayerCase c = layer_case(name, {Shape{2, 4, 5, 6}}, [=] {
    auto bn = std::make_unique<BatchNorm2d>("bn", 6, BatchNormParams{1e-5, 0.1}, relu);
    bn->parameters()[0]->value.fill_uniform(21, 0.5, 1.5);   // γ
    bn->parameters()[1]->value.fill_uniform(22, -0.5, 0.5);  // β
    bn->buffers()[0].second->fill_uniform(23, -0.5, 0.5);    // running mean
    bn->buffers()[1].second->fill_uniform(24, 0.5, 1.5);     // running variance
    return bn;
  });
  c.training = training;
  c.backward = training;
  c.check_forward = [make = c.make, relu, training](const std::vector<Tensor>& x, const Tensor& y,
                                                    Layer& after) {
    // PyTorch's BatchNorm2d: the batch's biased variance normalizes, its unbiased variance goes
    // into the running variance; momentum 0.1.
    std::unique_ptr<Layer> fresh = make();
    fresh->to(DType::F64);
    const std::vector<double> gamma = fresh->parameters()[0]->value.to_vector<double>(),
                              beta = fresh->parameters()[1]->value.to_vector<double>();
    std::vector<double> mean = fresh->buffers()[0].second->to_vector<double>(),
                        var = fresh->buffers()[1].second->to_vector<double>();
    const std::vector<double> xv = x[0].to_vector<double>();
    const size_t channels = gamma.size(), rows = xv.size() / channels;
    std::vector<double> running_mean = mean, running_var = var;
    if (training) {
      for (size_t ch = 0; ch < channels; ++ch) {
        double sum = 0, squares = 0;
        for (size_t r = 0; r < rows; ++r) sum += xv[r * channels + ch];
        mean[ch] = sum / double(rows);
        for (size_t r = 0; r < rows; ++r)
          squares += (xv[r * channels + ch] - mean[ch]) * (xv[r * channels + ch] - mean[ch]);
        var[ch] = squares / double(rows);
        running_mean[ch] = 0.9 * running_mean[ch] + 0.1 * mean[ch];
        running_var[ch] = 0.9 * running_var[ch] + 0.1 * squares / double(rows - 1);
      }
    }
    std::vector<double> expected(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) {
      const size_t ch = i % channels;
      expected[i] = gamma[ch] * (xv[i] - mean[ch]) / std::sqrt(var[ch] + 1e-5) + beta[ch];
      if (relu) expected[i] = std::max(expected[i], 0.0);
    }
    const Shape cs{int64_t(channels)};
    EXPECT_TRUE(test::close(y, Tensor::from_vector(expected, y.shape()), 1e-12,
                            "batch norm forward", kSeed));
    EXPECT_TRUE(test::close(*after.buffers()[0].second, Tensor::from_vector(running_mean, cs),
                            1e-12, "running mean", kSeed));
    EXPECT_TRUE(test::close(*after.buffers()[1].second, Tensor::from_vector(running_var, cs), 1e-12,
                            "running variance", kSeed));
  };
  return c;
}

LayerCase activation(const std::string& name, const ActivationParams& p) {
  return layer_case(name, {Shape{2, 3, 4, 5}},
                    [=] { return std::make_unique<Activation>("act", p); });
}

// Dropout (or D, one with a coarser mask) as part `part` of `parts` of a data-parallel batch
// (Dropout::set_part), at a fixed offset.
template <class D = Dropout>
LayerCase dropout(const std::string& name, bool training, int part, int parts, const Shape& x = {2, 3, 4, 5}) {
  LayerCase c = layer_case(name, {x}, [=] {
    auto d = std::make_unique<D>("drop", 0.3, 5);
    d->set_part(part, parts);
    return d;
  });
  c.training = training;
  c.before_forward = [](Layer& layer) { static_cast<Dropout&>(layer).set_offset(1000); };
  return c;
}

// Random scale and shift: fresh ones (1, 0) would hide a swapped or ignored tensor. The same
// statistics in training and evaluation.
LayerCase group_norm(const std::string& name, const Shape& x, int groups, bool training,
                     bool relu = false) {
  LayerCase c = layer_case(name, {x}, [=] {
    auto gn = std::make_unique<GroupNorm>("gn", int(x[3]), GroupNormParams{groups, 1e-5}, relu);
    gn->parameters()[0]->value.fill_uniform(21, 0.5, 1.5);   // γ
    gn->parameters()[1]->value.fill_uniform(22, -0.5, 0.5);  // β
    return gn;
  });
  c.training = training;
  return c;
}

LayerCase pool(const std::string& name, const Shape& x, bool max, const Pool2dParams& p) {
  return layer_case(name, {x}, [=] { return std::make_unique<Pool2d>("pool", max, p); });
}

LayerCase upsample(const std::string& name, UpsampleMode mode) {
  return layer_case(name, {Shape{2, 3, 4, 3}},
                    [=] { return std::make_unique<Upsample>("resize", mode, 2); });
}

LayerCase resize_to(const std::string& name, UpsampleMode mode, const Shape& x, int h, int w) {
  return layer_case(name, {x}, [=] { return std::make_unique<Upsample>("resize", mode, h, w); });
}

// Two inputs: the first resized to the second's H × W; the second's gradient is zero.
LayerCase resize_like(const std::string& name, UpsampleMode mode, const Shape& x, const Shape& like) {
  return layer_case(name, {x, like}, [=] { return Upsample::like("resize", mode); });
}

LayerCase adaptive_pool(const std::string& name, const Shape& x, int h, int w) {
  return layer_case(name, {x}, [=] { return std::make_unique<AdaptiveAvgPool2d>("gap", h, w); });
}

// Inputs x and s, s broadcast (kernels/multiply.h): gradients to both.
LayerCase multiply(const std::string& name, const Shape& x, const Shape& s) {
  return layer_case(name, {x, s}, [] { return std::make_unique<Multiply>("mul"); });
}

LayerCase concat(const std::string& name, const std::vector<Shape>& inputs) {
  return layer_case(name, inputs,
                    [n = int(inputs.size())] { return std::make_unique<Concat>("cat", n); });
}

std::vector<LayerCase> layer_cases() {
  using CT = ConvTranspose2dParams;
  return {
      conv("conv3x3_bias", {2, 5, 6, 3}, 4, 3, {1, 1, 1, 1, 1, 1}, true),
      conv("conv3x3_stride2_no_bias", {2, 7, 6, 3}, 5, 3, {2, 2, 1, 1, 1, 1}, false),
      conv("conv3x3_dilated_bias", {1, 7, 7, 2}, 3, 3, {1, 1, 2, 2, 2, 2}, true),
      conv("conv1x1_bias", {2, 4, 4, 5}, 3, 1, {}, true),
      conv("depthwise3x3_stride2_bias", {2, 7, 6, 4}, 4, 3, {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 4}, true),
      conv("grouped3x3_no_bias", {1, 5, 6, 6}, 4, 3, {.pad_h = 1, .pad_w = 1, .groups = 2}, false),
      conv("depthwise5x5_same_bias", {1, 8, 9, 3}, 3, 5,
           same_padding({.stride_h = 2, .stride_w = 2, .groups = 3}, 8, 9, 5, 5), true),
      conv_transpose("conv_transpose2x2_stride2_bias", {2, 3, 4, 4}, 3, 2,
                     CT{.stride_h = 2, .stride_w = 2}, true),
      conv_transpose("conv_transpose3x3_stride2_outpad_no_bias", {1, 3, 3, 2}, 4, 3,
                     CT{.stride_h = 2,
                        .stride_w = 2,
                        .pad_h = 1,
                        .pad_w = 1,
                        .output_pad_h = 1,
                        .output_pad_w = 1},
                     false),
      batch_norm("batch_norm_training", false, true),
      batch_norm("batch_norm_relu_training", true, true),
      batch_norm("batch_norm_inference", false, false),
      batch_norm("batch_norm_relu_inference", true, false),
      activation("relu", {ActivationKind::Relu}),
      activation("leaky_relu", {ActivationKind::LeakyRelu, 0.1}),
      activation("sigmoid", {ActivationKind::Sigmoid}),
      activation("tanh", {ActivationKind::Tanh}),
      activation("silu", {ActivationKind::Silu}),
      multiply("multiply_channel_attention", {2, 3, 4, 5}, {2, 1, 1, 5}),
      multiply("multiply_spatial_attention", {2, 3, 4, 5}, {2, 3, 4, 1}),
      multiply("multiply_same_shape", {1, 3, 2, 3}, {1, 3, 2, 3}),
      multiply("multiply_two_repeated_runs", {2, 3, 4, 5}, {1, 3, 1, 5}),
      dropout("dropout_training", true, 0, 1),
      dropout("dropout_training_part_1_of_3", true, 1, 3),
      dropout("dropout_evaluation", false, 0, 1),
      pool("max_pool2x2", {2, 6, 7, 3}, true, {}),
      pool("max_pool3x3_stride2_pad1", {2, 7, 7, 3}, true, {3, 3, 2, 2, 1, 1}),
      pool("avg_pool2x2", {2, 6, 6, 3}, false, {}),
      pool("avg_pool3x3_stride2_pad1_exclude_pad", {2, 7, 6, 3}, false, {3, 3, 2, 2, 1, 1, false}),
      upsample("upsample_nearest", UpsampleMode::Nearest),
      upsample("upsample_bilinear", UpsampleMode::Bilinear),
      upsample("upsample_bilinear_align_corners", UpsampleMode::BilinearAlignCorners),
      pool("max_pool3x3_stride2_pad1_ceil", {2, 7, 8, 3}, true, {3, 3, 2, 2, 1, 1, true, true}),
      pool("avg_pool3x3_stride2_pad1_ceil", {2, 7, 8, 3}, false, {3, 3, 2, 2, 1, 1, true, true}),
      adaptive_pool("global_avg_pool", {2, 7, 7, 3}, 1, 1),
      adaptive_pool("adaptive_avg_pool_3x4", {2, 7, 9, 3}, 3, 4),
      resize_to("resize_bilinear_to_5x7", UpsampleMode::Bilinear, {2, 3, 4, 3}, 5, 7),
      resize_to("resize_align_corners_1x1_to_6x5", UpsampleMode::BilinearAlignCorners, {2, 1, 1, 3}, 6, 5),
      resize_like("resize_nearest_like_skip", UpsampleMode::Nearest, {2, 3, 4, 3}, {2, 7, 9, 2}),
      resize_like("resize_align_corners_like_skip", UpsampleMode::BilinearAlignCorners, {2, 4, 5, 3}, {2, 9, 8, 1}),
      layer_case("binary_logits", {{2, 3, 5, 1}}, [] { return std::make_unique<BinaryLogits>("binary"); }),
      concat("concat2", {{2, 3, 4, 2}, {2, 3, 4, 3}}),
      concat("concat3", {{1, 3, 2, 1}, {1, 3, 2, 2}, {1, 3, 2, 3}}),
      group_norm("group_norm_training", {2, 3, 4, 6}, 3, true),
      group_norm("group_norm_evaluation", {2, 3, 4, 6}, 3, false),
      group_norm("group_norm_one_group", {1, 3, 5, 4}, 1, true),
      group_norm("group_norm_relu_training", {2, 3, 4, 6}, 2, true, true),
      dropout<Dropout2d>("dropout2d_training", true, 0, 1, {3, 3, 4, 5}),
      dropout<Dropout2d>("dropout2d_training_part_1_of_3", true, 1, 3, {3, 3, 4, 5}),
      dropout<Dropout2d>("dropout2d_evaluation", false, 0, 1),
      dropout<DropPath>("drop_path_training", true, 0, 1, {6, 2, 3, 4}),
      dropout<DropPath>("drop_path_training_part_1_of_3", true, 1, 3, {6, 2, 3, 4}),
      dropout<DropPath>("drop_path_evaluation", false, 0, 1),
  };
}

// ---- running a case --------------------------------------------------------------------------

// What one implementation made of a case: the output, the input gradients (assigned), the
// parameter gradients (accumulated from kGradStart) and the buffers after the forward.
struct LayerRun {
  Tensor y;
  std::vector<Tensor> dx, dparams, buffers;
};

// The case's inputs and the output's gradient: uniform in [-1, 1), rounded to f32 so that every
// implementation computes on the same values, as f64 CPU tensors.
std::vector<Tensor> case_inputs(const LayerCase& c) {
  std::vector<Tensor> x;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    x.push_back(test::random(c.inputs[i], kSeed + i).to(DType::F32).to(DType::F64));
  return x;
}

Tensor output_gradient(Layer& layer, const std::vector<Tensor>& x) {
  std::vector<Shape> shapes;
  for (const Tensor& t : x) shapes.push_back(t.shape());
  return test::random(layer.output_shape(shapes), kSeed + 100).to(DType::F32).to(DType::F64);
}

std::unique_ptr<Layer> make_layer(const LayerCase& c, Device device, DType dtype, Backend backend) {
  std::unique_ptr<Layer> layer = c.make();
  layer->to(dtype);
  layer->to(device);
  layer->set_backend(backend);
  layer->set_training(c.training);
  return layer;
}

// The layer's forward into a poisoned output.
Tensor forward(Layer& layer, const LayerCase& c, const std::vector<Tensor>& in) {
  std::vector<Shape> shapes;
  for (const Tensor& t : in) shapes.push_back(t.shape());
  Tensor y = poisoned(layer.output_shape(shapes), in[0].dtype(), in[0].device());
  if (c.before_forward) c.before_forward(layer);
  layer.forward(in, y);
  return y;
}

// The layer's backward into poisoned input gradients, parameter gradients from kGradStart.
std::vector<Tensor> backward(Layer& layer, const std::vector<Tensor>& in, const Tensor& y,
                             const Tensor& dy) {
  for (Parameter* p : layer.parameters()) p->grad.fill(kGradStart);
  std::vector<Tensor> dx;
  for (const Tensor& t : in) dx.push_back(poisoned(t.shape(), t.dtype(), t.device()));
  layer.backward(in, y, dy, dx);
  return dx;
}

LayerRun run(const LayerCase& c, Device device, DType dtype, Backend backend,
             const std::vector<Tensor>& x, const Tensor& dy) {
  std::unique_ptr<Layer> layer = make_layer(c, device, dtype, backend);
  std::vector<Tensor> in;
  for (const Tensor& t : x) in.push_back(t.to(dtype).to(device));
  LayerRun r;
  r.y = forward(*layer, c, in);
  for (const auto& [name, t] : layer->buffers()) r.buffers.push_back(t->clone());
  if (c.backward) {
    r.dx = backward(*layer, in, r.y, dy.to(dtype).to(device));
    for (Parameter* p : layer->parameters()) r.dparams.push_back(p->grad.clone());
  }
  return r;
}

class LayerBackends : public ::testing::TestWithParam<LayerCase> {};
class LayerBackendsGpu : public ::testing::TestWithParam<LayerCase> {};

// ---- the reference against finite differences ------------------------------------------------

// And, where the case has a check_forward, the reference's forward against the definition.
TEST_P(LayerBackends, ReferenceGradientsMatchFiniteDifferences) {
  const LayerCase& c = GetParam();
  const std::vector<Tensor> x = case_inputs(c);
  std::unique_ptr<Layer> layer = make_layer(c, Device::cpu(), DType::F64, Backend::Reference);
  const Tensor dy = output_gradient(*layer, x);
  const Tensor y = forward(*layer, c, x);
  ASSERT_TRUE(test::all_finite(y, c.name + " forward"));
  if (c.check_forward) c.check_forward(x, y, *layer);
  if (!c.backward) {
    std::vector<Tensor> dx = {poisoned(x[0].shape(), DType::F64, Device::cpu())};
    test::expect_error([&] { layer->backward(x, y, dy, dx); }, {"backward needs"});
    return;
  }
  const std::vector<Tensor> dx = backward(*layer, x, y, dy);
  std::vector<Tensor> dparams;
  for (Parameter* p : layer->parameters()) {
    Tensor g = p->grad.clone();
    for (int64_t i = 0; i < g.numel(); ++i) g.data<double>()[i] -= kGradStart;
    dparams.push_back(g);
  }
  // ⟨forward(x), dy⟩, whose gradient with respect to anything is what backward gives for dy.
  auto loss = [&](const std::vector<Tensor>& in) { return test::dot(forward(*layer, c, in), dy); };
  for (size_t i = 0; i < x.size(); ++i) {
    auto f = [&](const Tensor& v) {
      std::vector<Tensor> in = x;
      in[i] = v;
      return loss(in);
    };
    EXPECT_TRUE(test::gradcheck(f, x[i], dx[i], str_cat(c.name, " d input ", i)));
  }
  const std::vector<Parameter*> params = layer->parameters();
  for (size_t k = 0; k < params.size(); ++k) {
    Parameter* p = params[k];
    const Tensor saved = p->value.clone();
    auto f = [&](const Tensor& v) {
      p->value.copy_from(v);
      return loss(x);
    };
    EXPECT_TRUE(test::gradcheck(f, saved, dparams[k],
                                str_cat(c.name, " d ", p->name, " (from ", kGradStart, ")")));
    p->value.copy_from(saved);
  }
}

// ---- the other implementations against the reference -----------------------------------------

// Outputs, input gradients and buffers to 1e-5, parameter gradients (sums over every pixel of the
// batch in float32) to 1e-4, as in the registry; every one of them finite.
void expect_matches_the_reference(const LayerCase& c, Device device, Backend backend) {
  const std::vector<Tensor> x = case_inputs(c);
  const Tensor dy = output_gradient(*c.make(), x);
  const LayerRun ref = run(c, Device::cpu(), DType::F64, Backend::Reference, x, dy);
  const LayerRun got = run(c, device, DType::F32, backend, x, dy);
  const std::string what = str_cat(c.name, " ", backend_name(backend), " ");
  EXPECT_TRUE(test::close(got.y, ref.y, 1e-5, what + "forward", kSeed));
  ASSERT_EQ(got.dx.size(), ref.dx.size());
  for (size_t i = 0; i < ref.dx.size(); ++i)
    EXPECT_TRUE(test::close(got.dx[i], ref.dx[i], 1e-5, str_cat(what, "d input ", i), kSeed));
  ASSERT_EQ(got.dparams.size(), ref.dparams.size());
  for (size_t k = 0; k < ref.dparams.size(); ++k)
    EXPECT_TRUE(
        test::close(got.dparams[k], ref.dparams[k], 1e-4, str_cat(what, "d parameter ", k), kSeed));
  ASSERT_EQ(got.buffers.size(), ref.buffers.size());
  for (size_t k = 0; k < ref.buffers.size(); ++k)
    EXPECT_TRUE(
        test::close(got.buffers[k], ref.buffers[k], 1e-5, str_cat(what, "buffer ", k), kSeed));
}

TEST_P(LayerBackends, FastMatchesTheReference) {
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "built without oneDNN: there is no fast CPU path";
  expect_matches_the_reference(GetParam(), Device::cpu(), Backend::Fast);
}

TEST_P(LayerBackendsGpu, CudaMatchesTheReference) {
  CUSEG_REQUIRE_GPU();
  expect_matches_the_reference(GetParam(), Device::cuda(0), Backend::Cuda);
}

std::string case_name(const ::testing::TestParamInfo<LayerCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Layers, LayerBackends, ::testing::ValuesIn(layer_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Layers, LayerBackendsGpu, ::testing::ValuesIn(layer_cases()), case_name);

// ---- what the Activation layer reads -----------------------------------------------------------

// Its backward reads the input only where the kind's derivative needs it (SiLU): a NaN input
// leaves ReLU's and sigmoid's gradients finite and turns SiLU's into NaN.
TEST(ActivationLayer, ReadsItsInputOnlyWhereTheDerivativeNeedsIt) {
  const Shape s{1, 2, 3, 4};
  const Tensor x = test::random(s, 1, -2, 2), dy = test::random(s, 2);
  const Tensor nan_x = Tensor::full(s, std::nan(""), DType::F64);
  for (ActivationKind kind : {ActivationKind::Relu, ActivationKind::Sigmoid, ActivationKind::Silu}) {
    Activation layer("act", {kind});
    Tensor y = Tensor::empty(s, DType::F64);
    layer.forward({x}, y);
    std::vector<Tensor> dx = {Tensor::empty(s, DType::F64)};
    layer.backward({nan_x}, y, dy, dx);
    EXPECT_EQ(bool(test::all_finite(dx[0], activation_name(kind))), !activation_needs_input(kind)) << activation_name(kind);
  }
}

TEST(MultiplyLayer, NamesItselfWhenTheShapesDoNotBroadcast) {
  Multiply layer("se.scale");
  EXPECT_EQ(layer.output_shape({Shape{2, 3, 4, 5}, Shape{2, 1, 1, 5}}), (Shape{2, 3, 4, 5}));
  test::expect_error([&] { (void)layer.output_shape({Shape{2, 3, 4, 5}, Shape{2, 1, 1, 4}}); },
                     {"Multiply 'se.scale'", "does not broadcast"});
  test::expect_error([&] { (void)layer.output_shape({Shape{2, 3, 4, 5}}); }, {"Multiply 'se.scale'", "2 inputs"});
}

// ---- Dropout's data-parallel glue ------------------------------------------------------------

// Part k of `parts` of a batch draws that part of the mask one process draws for the whole batch,
// and its offset then advances by the whole batch's size: a rank's mask and the next step's
// draws are the single-process run's. The table above checks a part's gradients; this, whose part.
// The same holds for channel dropout and drop path, whose masks are per plane and per sample.
template <class D>
void expect_parts_of_the_whole_batch(Device device) {
  constexpr int kParts = 3;
  const Shape whole{6, 3, 4, 5}, part{2, 3, 4, 5};
  const Tensor x = test::random(whole, kSeed, -1, 1, DType::F32, device);
  const Tensor dy = test::random(whole, kSeed + 1, -1, 1, DType::F32, device);
  D one("drop", 0.4, 9);
  one.set_offset(77);
  for (int step = 0; step < 2; ++step) {  // the second step starts where the first left the offset
    const uint64_t start = one.offset();
    Tensor y = poisoned(whole, DType::F32, device), dx = poisoned(whole, DType::F32, device);
    std::vector<Tensor> dxs = {dx};
    one.forward({x}, y);
    one.backward({x}, y, dy, dxs);
    for (int k = 0; k < kParts; ++k) {
      const int64_t at = k * part.numel();
      D rank("drop", 0.4, 9);
      rank.set_offset(start);
      rank.set_part(k, kParts);
      const Tensor xk = x.view(part, at).clone(), dyk = dy.view(part, at).clone();
      Tensor yk = poisoned(part, DType::F32, device);
      std::vector<Tensor> dxk = {poisoned(part, DType::F32, device)};
      rank.forward({xk}, yk);
      rank.backward({xk}, yk, dyk, dxk);
      const std::string what = str_cat("step ", step, ", part ", k, " of ", kParts, " ");
      EXPECT_TRUE(test::identical(yk, y.view(part, at).clone(), what + "forward", 9));
      EXPECT_TRUE(test::identical(dxk[0], dx.view(part, at).clone(), what + "backward", 9));
      EXPECT_EQ(rank.offset(), one.offset()) << what;
    }
  }
}

// A grouped Conv2d: weight [K, k, k, C/g], PyTorch's initialization bound 1/√fan_in with
// fan_in = C/g·k·k (not C·k·k), R·S·C/g multiply-adds per output, and a clear refusal of groups
// that do not divide the channels.
TEST(Conv2dLayer, GroupedWeightInitializationAndFlops) {
  Conv2d dw("dw", 16, 32, 3, {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 16}, true, 5);
  EXPECT_EQ(dw.weight().shape(), (Shape{32, 3, 3, 1}));
  const std::vector<float> w = dw.weight().to_vector<float>();
  float largest = 0;
  for (float v : w) largest = std::max(largest, std::abs(v));
  const double bound = 1 / std::sqrt(9.0);  // fan_in = 1 · 3 · 3
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.9 * bound) << "288 uniform draws all far inside the bound: fan_in is not C/g·k·k";
  // 2 × 8 × 8 outputs per channel (16×16 input, stride 2), 32 channels, 9 multiply-adds each.
  EXPECT_DOUBLE_EQ(dw.flops({Shape{2, 16, 16, 16}}), 2.0 * 2 * 8 * 8 * 32 * 9);
  Conv2d grouped("g", 12, 8, 3, {.groups = 4}, false, 6);
  EXPECT_EQ(grouped.weight().shape(), (Shape{8, 3, 3, 3}));
  EXPECT_DOUBLE_EQ(grouped.flops({Shape{1, 5, 5, 12}}), 2.0 * 1 * 3 * 3 * 8 * 27);
  EXPECT_EQ(grouped.output_shape({Shape{1, 5, 5, 12}}), (Shape{1, 3, 3, 8}));
  test::expect_error([&] { (void)grouped.output_shape({Shape{1, 5, 5, 3}}); }, {"g", "[1,5,5,3]", "expects 12"});
  test::expect_error([] { Conv2d("bad", 6, 9, 3, {.groups = 4}, false, 1); },
                     {"bad", "4 groups must divide", "6 input", "9 output"});
}

// The sizes the resizing and adaptive pooling layers are given, and the inputs a second-input
// resize needs, are refused naming the layer.
TEST(ResizeLayers, RefuseBadSizesNamingTheLayer) {
  test::expect_error([] { Upsample("up", UpsampleMode::Nearest, 0); }, {"UpsampleNearest 'up'", "scale 0"});
  test::expect_error([] { Upsample("up", UpsampleMode::Bilinear, 0, 4); }, {"UpsampleBilinear 'up'", "0x4"});
  test::expect_error([] { AdaptiveAvgPool2d("gap", 1, 0); }, {"AdaptiveAvgPool2d 'gap'", "1x0"});
  const auto like = Upsample::like("skip", UpsampleMode::BilinearAlignCorners);
  EXPECT_EQ(like->num_inputs(), 2);
  EXPECT_EQ(like->output_shape({Shape{2, 3, 4, 5}, Shape{2, 7, 9, 1}}), (Shape{2, 7, 9, 5}));
  test::expect_error([&] { (void)like->output_shape({Shape{2, 3, 4, 5}}); },
                     {"UpsampleBilinearAlignCorners 'skip'", "expects 2 inputs"});
  test::expect_error([&] { (void)like->output_shape({Shape{2, 3, 4, 5}, Shape{1, 7, 9, 5}}); }, {"'skip'", "batch"});
}

TEST(DropoutParts, APartDrawsItsPartOfTheWholeBatchsMask) {
  expect_parts_of_the_whole_batch<Dropout>(Device::cpu());
  expect_parts_of_the_whole_batch<Dropout2d>(Device::cpu());
  expect_parts_of_the_whole_batch<DropPath>(Device::cpu());
}

TEST(DropoutPartsGpu, APartDrawsItsPartOfTheWholeBatchsMask) {
  CUSEG_REQUIRE_GPU();
  expect_parts_of_the_whole_batch<Dropout>(Device::cuda(0));
  expect_parts_of_the_whole_batch<Dropout2d>(Device::cuda(0));
  expect_parts_of_the_whole_batch<DropPath>(Device::cuda(0));
}

// The offset advances by the mask's size per training forward — N·H·W·C, N·C, N — and not at all
// in evaluation, and the draws of two steps differ.
TEST(DropoutOffsets, AdvanceByTheMasksSize) {
  const Shape s{4, 3, 2, 5};
  const Tensor x = test::random(s, kSeed, 1, 2);
  Dropout element("d", 0.5, 1);
  Dropout2d channel("d", 0.5, 1);
  DropPath sample("d", 0.5, 1);
  const std::pair<Dropout*, uint64_t> expected[] = {{&element, 120}, {&channel, 20}, {&sample, 4}};
  for (const auto& [layer, size] : expected) {
    Tensor y0 = Tensor::empty(s, DType::F64), y1 = Tensor::empty(s, DType::F64);
    layer->forward({x}, y0);
    EXPECT_EQ(layer->offset(), size) << layer->kind();
    layer->forward({x}, y1);
    EXPECT_EQ(layer->offset(), 2 * size) << layer->kind();
    EXPECT_GT(compare(y0, y1).mismatches, 0) << layer->kind() << ": two steps drew the same mask";
    layer->set_training(false);
    layer->forward({x}, y1);
    EXPECT_EQ(layer->offset(), 2 * size) << layer->kind();
    EXPECT_TRUE(test::identical(y1, x, layer->kind() + " in evaluation", 1));
  }
  EXPECT_EQ(element.output_shape({Shape{2, 3}}), (Shape{2, 3}));
  test::expect_error([&] { (void)channel.output_shape({Shape{2, 3}}); }, {"Dropout2d 'd'", "not NHWC"});
  test::expect_error([&] { (void)sample.output_shape({Shape{2, 3}}); }, {"DropPath 'd'", "not NHWC"});
}

}  // namespace
}  // namespace cuseg
