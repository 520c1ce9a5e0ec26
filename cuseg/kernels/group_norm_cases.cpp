// The test cases of group normalization (group_norm.h), for the op registry (verify/registry.h).
#include "cuseg/kernels/group_norm.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

struct GroupNormCase {
  Shape x;
  int groups;
  bool unet = false;
  Values values = Values::Random;
};

const std::vector<GroupNormCase>& group_norm_cases() {
  static const std::vector<GroupNormCase> cases = {
      {{1, 5, 7, 3}, 1},                           // one group: LayerNorm over H, W, C
      {{2, 9, 11, 6}, 6},                          // a group per channel: InstanceNorm
      {{1, 7, 3, 1}, 1},                           // one channel
      {{2, 5, 7, 64}, 32},                         // FPN's GroupNorm(32, ·), odd H·W
      {{1, 9, 7, 128}, 32},                        //
      {{3, 13, 10, 12}, 4},                        //
      {{2, 7, 9, 4}, 2, false, Values::Ties},      //
      {{2, 3, 5, 8}, 2, false, Values::Constant},  // variance 0: eps alone keeps invstd finite
      {{2, 64, 64, 64}, 32, true},
  };
  return cases;
}

GroupNormParams params_of(int i) { return {group_norm_cases()[size_t(i)].groups, 1e-5}; }

// x, γ, β. β centred at 0.
std::vector<Tensor> group_norm_inputs(int i, uint64_t seed) {
  const GroupNormCase& k = group_norm_cases()[size_t(i)];
  const Shape c{k.x[3]};
  return {draw_f64(k.x, seed, -2, 3, k.values), random_f64(c, seed + 1, 0.5, 1.5),
          random_f64(c, seed + 2)};
}

// The backward sums over whole groups and, for dγ and dβ, over every pixel of the batch, as the
// weight gradients do: 1e-4.
constexpr double kGradientSumTolerance = 1e-4;

using Forward = void (*)(const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&, Tensor&,
                        const GroupNormParams&, Backend);

// The ops of one flavour (plain or fused with ReLU): forward (y and the statistics), backward.
std::vector<OpSpec> flavour(const std::string& prefix, Forward forward, bool relu,
                            const std::vector<OpCase>& cases) {
  return {
      {.name = prefix + "_forward",
       .cases = cases,
       .make_inputs = group_norm_inputs,
       .run =
           [forward](const std::vector<Tensor>& in, int i, Exec e) {
             const Shape stats{in[0].dim(0), params_of(i).groups};
             Tensor y = output(in, in[0].shape()), mean = output(in, stats),
                    invstd = output(in, stats);
             forward(in[0], in[1], in[2], y, mean, invstd, params_of(i), e);
             return std::vector<Tensor>{y, mean, invstd};
           }},
      {.name = prefix + "_backward",
       .cases = cases,
       .tolerance = kGradientSumTolerance,
       .make_inputs =
           [forward, relu](int i, uint64_t seed) {  // x, y (the fused ReLU's), dy, γ, mean, invstd
             std::vector<Tensor> in = group_norm_inputs(i, seed);
             const Shape stats{in[0].dim(0), params_of(i).groups};
             Tensor y = Tensor::empty(in[0].shape(), DType::F64),
                    mean = Tensor::empty(stats, DType::F64);
             Tensor invstd = Tensor::empty(stats, DType::F64);
             forward(in[0], in[1], in[2], y, mean, invstd, params_of(i), Backend::Reference);
             return std::vector<Tensor>{in[0], relu ? y : Tensor(),
                                        random_f64(in[0].shape(), seed + 9), in[1], mean, invstd};
           },
       .run =
           [relu](const std::vector<Tensor>& in, int i, Exec e) {
             const Shape c{in[0].dim(3)};
             Tensor dx = output(in, in[0].shape()), dgamma = accumulator(in, c),
                    dbeta = accumulator(in, c);
             if (relu)
               group_norm_relu_backward(in[0], in[1], in[2], in[3], in[4], in[5], dx, dgamma, dbeta,
                                        params_of(i), e);
             else
               group_norm_backward(in[0], in[2], in[3], in[4], in[5], dx, dgamma, dbeta,
                                   params_of(i), e);
             return std::vector<Tensor>{dx, dgamma, dbeta};
           }},
  };
}

std::vector<OpSpec> group_norm_specs() {
  std::vector<OpCase> cases;
  for (const GroupNormCase& c : group_norm_cases())
    cases.push_back({str_cat(case_label(c.x, c.values), " G", c.groups), c.unet});
  std::vector<OpSpec> all = flavour("group_norm", group_norm_forward, false, cases);
  for (OpSpec& s : flavour("group_norm_relu", group_norm_relu_forward, true, cases))
    all.push_back(std::move(s));
  return all;
}

const OpTests kTests("group_norm", group_norm_specs);

}  // namespace
}  // namespace cuseg
