// The test cases of the confusion-matrix accumulation (confusion.h), for the op registry
// (verify/registry.h).
#include "cuseg/kernels/confusion.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

std::vector<OpSpec> confusion_specs() {
  return {
      {.name = "confusion_update",
       .cases = labelled_op_cases(),
       .tolerance = 0,  // exact: see below
       // The logits are rounded to float32 for every implementation alike (check_op), so the
       // arg-max, and with it every count, must match the reference exactly: counts are integers,
       // and their float64 sums are exact; any miscount is an error of at least 1 in a count.
       .make_inputs =
           [](int i, uint64_t seed) {
             std::vector<Tensor> in = labelled_inputs(i, seed);
             return std::vector<Tensor>{in[0], in[1]};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             const int64_t k = in[0].dim(in[0].rank() - 1);
             // Accumulated (+=) into counts that start at kAccumulateStart: f64 on every device.
             Tensor counts = Tensor::full(Shape{k, k}, kAccumulateStart, DType::F64, device_of(in));
             confusion_update(in[0], in[1], counts, labelled_cases()[size_t(i)].ignore_index(), e);
             return std::vector<Tensor>{counts};
           }},
  };
}

const OpTests kTests("confusion", confusion_specs);

}  // namespace
}  // namespace cuseg
