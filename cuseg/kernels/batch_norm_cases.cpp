// The test cases of batch normalization, plain and fused with ReLU (batch_norm.h), for the op
// registry (verify/registry.h).
#include "cuseg/kernels/batch_norm.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

const std::vector<RowsCase>& batch_norm_cases() {
  static const std::vector<RowsCase> cases = {
      {{1, 5, 7, 1}},   {{2, 9, 11, 3}}, {{3, 13, 10, 5}}, {{2, 5, 6, 33}},
      {{1, 7, 3, 150}}, {{4, 2, 2, 8}},  {{3, 37, 41, 7}}, {{2, 64, 64, 64}, true},
      {{2, 5, 7, 3}, false, Values::Ties},
      {{2, 3, 5, 2}, false, Values::Constant},  // variance 0: ε alone keeps invstd finite
  };
  return cases;
}

// x, γ, β, running mean, running variance (positive). β centred at 0 puts about half of the
// outputs below 0, where the fused ReLU clamps.
std::vector<Tensor> batch_norm_inputs(int i, uint64_t seed) {
  const Shape& s = batch_norm_cases()[size_t(i)].x;
  const Shape c{s[3]};
  return {draw_f64(s, seed, -2, 3, batch_norm_cases()[size_t(i)].values), random_f64(c, seed + 1, 0.5, 1.5), random_f64(c, seed + 2),
          random_f64(c, seed + 3), random_f64(c, seed + 4, 0.5, 2)};
}

constexpr BatchNormParams kBatchNorm{1e-5, 0.1};
// The backward sums over every pixel of the batch, as the weight gradients do: 1e-4.
constexpr double kGradientSumTolerance = 1e-4;

using Training = void (*)(const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&, Tensor&, Tensor&, Tensor&,
                          const BatchNormParams&, Backend);
using Inference = void (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&,
                           const BatchNormParams&, Backend);

// The ops of one flavour (plain or fused with ReLU): training forward (y, the batch statistics,
// the running ones updated in place, so cloned first), inference forward, backward.
std::vector<OpSpec> flavour(const std::string& prefix, Training training, Inference inference, bool relu,
                            const std::vector<OpCase>& cases) {
  return {
      {.name = prefix + "_forward_training",
       .cases = cases,
       .make_inputs = batch_norm_inputs,
       .run =
           [training](const std::vector<Tensor>& in, int, Exec e) {
             const Shape c{in[0].dim(3)};
             Tensor y = output(in, in[0].shape()), mean = output(in, c), invstd = output(in, c);
             Tensor running_mean = in[3].clone(), running_var = in[4].clone();
             training(in[0], in[1], in[2], y, mean, invstd, running_mean, running_var, kBatchNorm, e);
             return std::vector<Tensor>{y, mean, invstd, running_mean, running_var};
           }},
      {.name = prefix + "_forward_inference",
       .cases = cases,
       .make_inputs = batch_norm_inputs,
       .run =
           [inference](const std::vector<Tensor>& in, int, Exec e) {
             Tensor y = output(in, in[0].shape());
             inference(in[0], in[1], in[2], in[3], in[4], y, kBatchNorm, e);
             return std::vector<Tensor>{y};
           }},
      {.name = prefix + "_backward",
       .cases = cases,
       .tolerance = kGradientSumTolerance,
       .make_inputs =
           [training, relu](int i, uint64_t seed) {  // x, y (the fused ReLU's), dy, γ, mean, invstd
             std::vector<Tensor> in = batch_norm_inputs(i, seed);
             const Shape c{in[0].dim(3)};
             Tensor y = Tensor::empty(in[0].shape(), DType::F64), mean = Tensor::empty(c, DType::F64);
             Tensor invstd = Tensor::empty(c, DType::F64);
             training(in[0], in[1], in[2], y, mean, invstd, in[3], in[4], kBatchNorm, Backend::Reference);
             return std::vector<Tensor>{in[0], relu ? y : Tensor(), random_f64(in[0].shape(), seed + 9), in[1], mean,
                                        invstd};
           },
       .run =
           [relu](const std::vector<Tensor>& in, int, Exec e) {
             const Shape c{in[0].dim(3)};
             Tensor dx = output(in, in[0].shape()), dgamma = accumulator(in, c), dbeta = accumulator(in, c);
             if (relu)
               batch_norm_relu_backward(in[0], in[1], in[2], in[3], in[4], in[5], dx, dgamma, dbeta, kBatchNorm, e);
             else
               batch_norm_backward(in[0], in[2], in[3], in[4], in[5], dx, dgamma, dbeta, kBatchNorm, e);
             return std::vector<Tensor>{dx, dgamma, dbeta};
           }},
  };
}

std::vector<OpSpec> batch_norm_specs() {
  std::vector<OpCase> cases;
  for (const RowsCase& c : batch_norm_cases()) cases.push_back({case_label(c.x, c.values), c.unet});
  std::vector<OpSpec> all =
      flavour("batch_norm", batch_norm_forward_training, batch_norm_forward_inference, false, cases);
  for (OpSpec& s :
       flavour("batch_norm_relu", batch_norm_relu_forward_training, batch_norm_relu_forward_inference, true, cases))
    all.push_back(std::move(s));
  return all;
}

const OpTests kTests("batch_norm", batch_norm_specs);

}  // namespace
}  // namespace cuseg
