// The test cases of the whole-tensor reductions (reduce.h), for the op registry
// (verify/registry.h).
#include "cuseg/kernels/reduce.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

std::vector<OpSpec> reduce_specs() {
  using Reduction = void (*)(const Tensor&, Tensor&, Backend);
  const std::pair<const char*, Reduction> kinds[] = {
      {"reduce_sum", reduce_sum}, {"reduce_mean", reduce_mean}, {"reduce_l2_norm", reduce_l2_norm}};
  std::vector<OpSpec> out;
  for (const auto& [name, reduce] : kinds)
    out.push_back({.name = name,
                   .cases = rows_op_cases(),
                   .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{rows_input(i, seed)}; },
                   .run = [reduce = reduce](const std::vector<Tensor>& in, int, Exec e) {
                     Tensor out = output(in, Shape{1});
                     reduce(in[0], out, e);
                     return std::vector<Tensor>{out};
                   }});
  return out;
}

const OpTests kTests("reduce", reduce_specs);

}  // namespace
}  // namespace cuseg
