// The test cases of the activations (activation.h), one op per kind and direction, for the op
// registry (verify/registry.h).
#include "cuseg/kernels/activation.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

// The shared row cases, then two of large |x| (±100: σ's limits, where e^−|x| underflows in f32
// and the output is −0 or x), one of them of the special values (±0, ±1e-40 among them).
struct LargeCase {
  Shape x;
  Values values;
};
const LargeCase kLarge[] = {{{2, 7, 9, 3}, Values::Ties}, {{3, 13, 10, 21}, Values::Random}};

std::vector<OpCase> activation_cases() {
  std::vector<OpCase> out = rows_op_cases();
  for (const LargeCase& c : kLarge) out.push_back({case_label(c.x, c.values) + " ±100"});
  return out;
}

Tensor activation_input(int i, uint64_t seed) {
  // ±8 reaches ReLU6's upper clip; the ties case puts outputs exactly at 0 and 6, where the
  // derivative's rule says 0, and subnormal ones just above 0, where it says 1.
  const int rows = int(rows_cases().size());
  if (i < rows) return rows_input(i, seed, -8, 8);
  const LargeCase& c = kLarge[i - rows];
  return draw_f64(c.x, seed, -100, 100, c.values);
}

std::vector<OpSpec> activation_specs() {
  std::vector<OpSpec> out;
  for (ActivationKind kind : {ActivationKind::Relu, ActivationKind::LeakyRelu, ActivationKind::Sigmoid,
                              ActivationKind::Tanh, ActivationKind::Relu6, ActivationKind::Silu}) {
    const ActivationParams p{kind, 0.1};
    // The backward's inputs: y, dy; or x, y, dy where the kind's derivative reads x.
    const bool needs_x = activation_needs_input(kind);
    out.push_back({.name = str_cat(activation_name(kind), "_forward"),
                   .cases = activation_cases(),
                   .make_inputs = [=](int i, uint64_t seed) { return std::vector<Tensor>{activation_input(i, seed)}; },
                   .run = [=](const std::vector<Tensor>& in, int, Exec e) {
                     Tensor y = output(in, in[0].shape());
                     activation_forward(in[0], y, p, e);
                     return std::vector<Tensor>{y};
                   }});
    out.push_back({.name = str_cat(activation_name(kind), "_backward"),
                   .cases = activation_cases(),
                   .make_inputs =
                       [=](int i, uint64_t seed) {
                         const Tensor x = activation_input(i, seed);
                         Tensor y = Tensor::empty(x.shape(), DType::F64);
                         activation_forward(x, y, p, Backend::Reference);
                         Tensor dy = random_f64(x.shape(), seed + 1);
                         return needs_x ? std::vector<Tensor>{x, y, dy} : std::vector<Tensor>{y, dy};
                       },
                   .run = [=](const std::vector<Tensor>& in, int, Exec e) {
                     Tensor dx = output(in, in[0].shape());
                     if (needs_x)
                       activation_backward(in[0], in[1], in[2], dx, p, e);
                     else
                       activation_backward(in[0], in[1], dx, p, e);
                     return std::vector<Tensor>{dx};
                   }});
  }
  return out;
}

const OpTests kTests("activation", activation_specs);

}  // namespace
}  // namespace cuseg
