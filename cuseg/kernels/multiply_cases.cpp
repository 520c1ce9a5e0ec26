// The test cases of the broadcast product (multiply.h), for the op registry (verify/registry.h).
#include "cuseg/kernels/multiply.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

struct MultiplyCase {
  Shape x, s;
  bool unet = false;
  Values values = Values::Random;
};

// Channel attention and squeeze-excitation (s [N,1,1,C]), spatial attention (s [N,H,W,1]), the
// plain product, s of one element, H = W = 1, C = 1, odd sizes; s [1,H,W,1], [N,1,W,1] and
// [1,H,1,C], whose two repeated runs the fast path leaves to the reference (the last folds to four
// runs, the most there are); ±0 and subnormals (ties).
const std::vector<MultiplyCase>& multiply_cases() {
  static const std::vector<MultiplyCase> cases = {
      {{2, 9, 11, 3}, {2, 1, 1, 3}},
      {{3, 13, 10, 21}, {3, 13, 10, 1}},
      {{1, 5, 7, 1}, {1, 5, 7, 1}},
      {{1, 5, 7, 1}, {1, 1, 1, 1}},
      {{2, 1, 1, 33}, {2, 1, 1, 33}},
      {{2, 1, 1, 33}, {2, 1, 1, 1}},
      {{1, 7, 3, 150}, {1, 1, 1, 150}},
      {{3, 37, 41, 7}, {3, 37, 41, 7}},
      {{2, 6, 5, 4}, {1, 6, 5, 1}},
      {{3, 4, 5, 6}, {3, 1, 5, 1}},
      {{2, 5, 4, 3}, {1, 5, 1, 3}},
      {{2, 7, 9, 3}, {2, 1, 1, 3}, false, Values::Ties},
      {{2, 7, 9, 3}, {2, 7, 9, 1}, false, Values::Ties},
      {{2, 64, 64, 64}, {2, 1, 1, 64}, true},
      {{2, 64, 64, 64}, {2, 64, 64, 1}, true},
  };
  return cases;
}

std::vector<OpCase> op_cases() {
  std::vector<OpCase> out;
  for (const MultiplyCase& c : multiply_cases()) out.push_back({case_label(c.x, c.values) + " s" + c.s.str(), c.unet});
  return out;
}

// x, s; and dy for the backward.
std::vector<Tensor> inputs(int i, uint64_t seed, bool backward) {
  const MultiplyCase& c = multiply_cases()[size_t(i)];
  std::vector<Tensor> in = {draw_f64(c.x, seed, -2, 2, c.values), draw_f64(c.s, seed + 1, -2, 2, c.values)};
  if (backward) in.push_back(random_f64(c.x, seed + 2));
  return in;
}

std::vector<OpSpec> multiply_specs() {
  return {
      {.name = "multiply_forward",
       .cases = op_cases(),
       .make_inputs = [](int i, uint64_t seed) { return inputs(i, seed, false); },
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor y = output(in, in[0].shape());
             multiply_forward(in[0], in[1], y, e);
             return std::vector<Tensor>{y};
           }},
      {.name = "multiply_backward",
       .cases = op_cases(),
       .make_inputs = [](int i, uint64_t seed) { return inputs(i, seed, true); },
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor dx = output(in, in[0].shape()), ds = output(in, in[1].shape());
             multiply_backward(in[0], in[1], in[2], dx, ds, e);
             return std::vector<Tensor>{dx, ds};
           }},
  };
}

const OpTests kTests("multiply", multiply_specs);

}  // namespace
}  // namespace cuseg
