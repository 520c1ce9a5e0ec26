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

// Channel dropout and drop path: the rows cases at p = 0.3, then p = 0, 0.5 and 1, and a mask of
// one or two values (N·C small: one Bernoulli decides the whole tensor).
struct GroupDropoutCase {
  Shape x;
  double p;
  bool unet = false;
};

const std::vector<GroupDropoutCase>& group_dropout_cases() {
  static const std::vector<GroupDropoutCase> cases = [] {
    std::vector<GroupDropoutCase> all;
    for (const RowsCase& c : rows_cases())
      if (c.values == Values::Random) all.push_back({c.x, kDropout.p, c.unet});
    for (double p : {0.0, 0.5, 1.0}) all.push_back({{3, 5, 7, 9}, p});
    all.push_back({{1, 6, 5, 1}, 0.5});
    all.push_back({{2, 3, 3, 1}, 0.7});
    return all;
  }();
  return cases;
}

std::vector<OpCase> group_dropout_op_cases() {
  std::vector<OpCase> out;
  for (const GroupDropoutCase& c : group_dropout_cases())
    out.push_back({str_cat(case_label(c.x, Values::Random), " p", c.p), c.unet});
  return out;
}

DropoutParams group_dropout_params(int i) { return {group_dropout_cases()[size_t(i)].p, 1234, 99}; }

using GroupForward = void (*)(const Tensor&, Tensor&, Tensor&, const DropoutParams&, Backend);
using GroupBackward = void (*)(const Tensor&, const Tensor&, Tensor&, const DropoutParams&, Backend);

// The forward and backward of channel dropout (per_channel) or drop path.
std::vector<OpSpec> group_dropout_specs(const std::string& prefix, GroupForward forward, GroupBackward backward,
                                        bool per_channel) {
  auto input = [](int i, uint64_t seed) { return random_f64(group_dropout_cases()[size_t(i)].x, seed); };
  return {
      {.name = prefix + "_forward",
       .cases = group_dropout_op_cases(),
       .make_inputs = [=](int i, uint64_t seed) { return std::vector<Tensor>{input(i, seed)}; },
       .run =
           [=](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor y = output(in, in[0].shape());
             Tensor mask = poisoned(group_dropout_mask_shape(in[0].shape(), per_channel), DType::U8, device_of(in));
             forward(in[0], y, mask, group_dropout_params(i), e);
             return std::vector<Tensor>{y, mask};
           }},
      {.name = prefix + "_backward",
       .cases = group_dropout_op_cases(),
       .make_inputs =
           [=](int i, uint64_t seed) {  // dy, mask
             const Tensor x = input(i, seed);
             Tensor y = Tensor::empty(x.shape(), DType::F64);
             Tensor mask = Tensor::empty(group_dropout_mask_shape(x.shape(), per_channel), DType::U8);
             forward(x, y, mask, group_dropout_params(i), Backend::Reference);
             return std::vector<Tensor>{input(i, seed + 1), mask};
           },
       .run =
           [=](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dx = output(in, in[0].shape());
             backward(in[0], in[1], dx, group_dropout_params(i), e);
             return std::vector<Tensor>{dx};
           }},
  };
}

std::vector<OpSpec> all_dropout_specs() {
  std::vector<OpSpec> all = dropout_specs();
  for (OpSpec& s : group_dropout_specs("dropout2d", dropout2d_forward, dropout2d_backward, true))
    all.push_back(std::move(s));
  for (OpSpec& s : group_dropout_specs("drop_path", drop_path_forward, drop_path_backward, false))
    all.push_back(std::move(s));
  return all;
}

const OpTests kTests("dropout", all_dropout_specs);

}  // namespace
}  // namespace cuseg
