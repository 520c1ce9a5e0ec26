// The test cases of the activations (activation.h), one op per kind and direction, for the op
// registry (verify/registry.h).
#include "cuseg/kernels/activation.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

std::vector<OpSpec> activation_specs() {
  // ±8 reaches ReLU6's upper clip; the ties case puts outputs exactly at 0 and 6, where the
  // derivative's rule says 0, and subnormal ones just above 0, where it says 1.
  auto x_of = [](int i, uint64_t seed) { return rows_input(i, seed, -8, 8); };
  std::vector<OpSpec> out;
  for (ActivationKind kind : {ActivationKind::Relu, ActivationKind::LeakyRelu, ActivationKind::Sigmoid,
                              ActivationKind::Tanh, ActivationKind::Relu6}) {
    const ActivationParams p{kind, 0.1};
    out.push_back({.name = str_cat(activation_name(kind), "_forward"),
                   .cases = rows_op_cases(),
                   .make_inputs = [=](int i, uint64_t seed) { return std::vector<Tensor>{x_of(i, seed)}; },
                   .run = [=](const std::vector<Tensor>& in, int, Exec e) {
                     Tensor y = output(in, in[0].shape());
                     activation_forward(in[0], y, p, e);
                     return std::vector<Tensor>{y};
                   }});
    out.push_back({.name = str_cat(activation_name(kind), "_backward"),
                   .cases = rows_op_cases(),
                   .make_inputs =
                       [=](int i, uint64_t seed) {  // y, dy
                         const Tensor x = x_of(i, seed);
                         Tensor y = Tensor::empty(x.shape(), DType::F64);
                         activation_forward(x, y, p, Backend::Reference);
                         return std::vector<Tensor>{y, random_f64(x.shape(), seed + 1)};
                       },
                   .run = [=](const std::vector<Tensor>& in, int, Exec e) {
                     Tensor dx = output(in, in[0].shape());
                     activation_backward(in[0], in[1], dx, p, e);
                     return std::vector<Tensor>{dx};
                   }});
  }
  return out;
}

const OpTests kTests("activation", activation_specs);

}  // namespace
}  // namespace cuseg
