// The test cases of the elementwise arithmetic (elementwise.h), for the op registry
// (verify/registry.h).
#include "cuseg/kernels/elementwise.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

std::vector<OpSpec> elementwise_specs() {
  auto one = [](int i, uint64_t seed) { return std::vector<Tensor>{rows_input(i, seed)}; };
  auto two = [](int i, uint64_t seed) { return std::vector<Tensor>{rows_input(i, seed), rows_input(i, seed + 1)}; };
  return {
      {.name = "add",
       .cases = rows_op_cases(),
       .make_inputs = two,
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor out = output(in, in[0].shape());
             add(in[0], in[1], out, e);
             return std::vector<Tensor>{out};
           }},
      {.name = "scale",
       .cases = rows_op_cases(),
       .make_inputs = one,
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor out = output(in, in[0].shape());
             scale(in[0], -1.75, out, e);
             return std::vector<Tensor>{out};
           }},
      {.name = "axpy",
       .cases = rows_op_cases(),
       .make_inputs = two,
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor y = in[1].clone();  // accumulates: y += α·x
             axpy(0.3, in[0], y, e);
             return std::vector<Tensor>{y};
           }},
  };
}

const OpTests kTests("elementwise", elementwise_specs);

}  // namespace
}  // namespace cuseg
