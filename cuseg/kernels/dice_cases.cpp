// The test cases of the Dice loss (dice.h), for the op registry (verify/registry.h).
#include "cuseg/kernels/dice.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

DiceParams dice_params(int i) { return DiceParams{1.0, labelled_cases()[size_t(i)].ignore_index()}; }

// The labelled cases' labels with logits of ordinary scale: at 1e4 (a stability case for
// cross-entropy) rounding the logits to float changes the probabilities Dice sums.
std::vector<Tensor> dice_inputs(int i, uint64_t seed) {
  std::vector<Tensor> in = labelled_inputs(i, seed);
  return {random_f64(in[0].shape(), seed + 7, -3, 3), in[1]};
}

std::vector<OpSpec> dice_specs() {
  return {
      {.name = "dice_forward",
       .cases = labelled_op_cases(),
       .make_inputs = dice_inputs,
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor loss = output(in, Shape{1}), stats = output(in, Shape{2, in[0].dim(in[0].rank() - 1)});
             dice_forward(in[0], in[1], loss, stats, dice_params(i), e);
             return std::vector<Tensor>{loss, stats};
           }},
      {.name = "dice_backward",
       .cases = labelled_op_cases(),
       .make_inputs =
           [](int i, uint64_t seed) {  // logits, labels, stats
             std::vector<Tensor> in = dice_inputs(i, seed);
             Tensor loss = Tensor::empty(Shape{1}, DType::F64);
             Tensor stats = Tensor::empty(Shape{2, in[0].dim(in[0].rank() - 1)}, DType::F64);
             dice_forward(in[0], in[1], loss, stats, dice_params(i));
             return std::vector<Tensor>{in[0], in[1], stats};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dx = output(in, in[0].shape());
             dice_backward(in[0], in[1], in[2], dx, 0.75, dice_params(i), e);
             return std::vector<Tensor>{dx};
           }},
  };
}

const OpTests kTests("dice", dice_specs);

}  // namespace
}  // namespace cuseg
