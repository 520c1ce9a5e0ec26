// The test cases of dropout (dropout.h), for the op registry (verify/registry.h).
#include "cuseg/kernels/dropout.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

constexpr DropoutParams kDropout{0.3, 1234, 99};

std::vector<OpSpec> dropout_specs() {
  auto shape_of = [](int i) { return rows_cases()[size_t(i)].x; };
  return {
      {.name = "dropout_forward",
       .cases = rows_op_cases(),
       .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{rows_input(i, seed)}; },
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor y = output(in, in[0].shape());
             Tensor mask = poisoned(in[0].shape(), DType::U8, device_of(in));
             dropout_forward(in[0], y, mask, kDropout, e);
             return std::vector<Tensor>{y, mask};
           }},
      {.name = "dropout_backward",
       .cases = rows_op_cases(),
       .make_inputs =
           [=](int i, uint64_t seed) {  // dy, mask
             Tensor y = Tensor::empty(shape_of(i), DType::F64), mask = Tensor::empty(shape_of(i), DType::U8);
             dropout_forward(rows_input(i, seed), y, mask, kDropout);
             return std::vector<Tensor>{rows_input(i, seed + 1), mask};
           },
       .run =
           [](const std::vector<Tensor>& in, int, Exec e) {
             Tensor dx = output(in, in[0].shape());
             dropout_backward(in[0], in[1], dx, kDropout, e);
             return std::vector<Tensor>{dx};
           }},
  };
}

const OpTests kTests("dropout", dropout_specs);

}  // namespace
}  // namespace cuseg
