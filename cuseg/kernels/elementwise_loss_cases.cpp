// The test cases of the elementwise losses (elementwise_loss.h), one op per kind and direction,
// for the op registry (verify/registry.h).
#include "cuseg/kernels/elementwise_loss.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

std::vector<OpSpec> elementwise_loss_specs() {
  std::vector<OpSpec> out;
  for (ElementwiseLossKind kind : {ElementwiseLossKind::Bce, ElementwiseLossKind::Mse, ElementwiseLossKind::SmoothL1}) {
    const std::string name = kind == ElementwiseLossKind::Bce   ? "bce_loss"
                             : kind == ElementwiseLossKind::Mse ? "mse_loss"
                                                                : "smooth_l1_loss";
    const ElementwiseLossParams p{kind, 0.5};
    // x, target, pos_weight (bce: targets in [0, 1] and a weight per channel).
    auto inputs = [kind](int i, uint64_t seed) {
      const Shape& s = rows_cases()[size_t(i)].x;
      const bool bce = kind == ElementwiseLossKind::Bce;
      return std::vector<Tensor>{rows_input(i, seed, -3, 3), rows_input(i, seed + 1, bce ? 0 : -3, bce ? 1 : 3),
                                 bce ? random_f64(Shape{s[3]}, seed + 2, 0.5, 3) : Tensor()};
    };
    out.push_back({.name = name + "_forward",
                   .cases = rows_op_cases(),
                   .make_inputs = inputs,
                   .run = [p](const std::vector<Tensor>& in, int, Exec e) {
                     Tensor loss = output(in, Shape{1});
                     elementwise_loss_forward(in[0], in[1], in[2], loss, p, e);
                     return std::vector<Tensor>{loss};
                   }});
    out.push_back({.name = name + "_backward",
                   .cases = rows_op_cases(),
                   .make_inputs = inputs,
                   .run = [p](const std::vector<Tensor>& in, int, Exec e) {
                     Tensor dx = output(in, in[0].shape());
                     elementwise_loss_backward(in[0], in[1], in[2], dx, 0.75, p, e);
                     return std::vector<Tensor>{dx};
                   }});
  }
  return out;
}

const OpTests kTests("elementwise_loss", elementwise_loss_specs);

}  // namespace
}  // namespace cuseg
