// The test cases of softmax, log-softmax and softmax cross-entropy (softmax.h), for the op
// registry (verify/registry.h).
#include "cuseg/kernels/softmax.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

SoftmaxCrossEntropyParams cross_entropy_params(int i) {
  const LabelledCase& c = labelled_cases()[size_t(i)];
  return {c.ignore_index(), c.smoothing, c.focal_gamma};
}

// softmax or log-softmax, forward and backward.
template <bool log>
std::vector<OpSpec> softmax_specs() {
  auto forward = log ? log_softmax_forward : softmax_forward;
  auto backward = log ? log_softmax_backward : softmax_backward;
  auto logits = [](int i, uint64_t seed) { return rows_input(i, seed, -4, 4); };
  return {
      {.name = log ? "log_softmax_forward" : "softmax_forward",
       .cases = rows_op_cases(),
       .make_inputs = [=](int i, uint64_t seed) { return std::vector<Tensor>{logits(i, seed)}; },
       .run =
           [=](const std::vector<Tensor>& in, int, Exec e) {
             Tensor y = output(in, in[0].shape());
             forward(in[0], y, e);
             return std::vector<Tensor>{y};
           }},
      {.name = log ? "log_softmax_backward" : "softmax_backward",
       .cases = rows_op_cases(),
       .make_inputs =
           [=](int i, uint64_t seed) {
             const Tensor x = logits(i, seed);
             Tensor y = Tensor::empty(x.shape(), DType::F64);
             forward(x, y, Backend::Reference);
             return std::vector<Tensor>{y, random_f64(x.shape(), seed + 1)};
           },
       .run =
           [=](const std::vector<Tensor>& in, int, Exec e) {
             Tensor dx = output(in, in[0].shape());
             backward(in[0], in[1], dx, e);
             return std::vector<Tensor>{dx};
           }},
  };
}

std::vector<OpSpec> cross_entropy_specs() {
  return {
      {.name = "softmax_cross_entropy_forward",
       .cases = labelled_op_cases(),
       .make_inputs = labelled_inputs,
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor loss = output(in, Shape{1}), weight_sum = output(in, Shape{1});
             softmax_cross_entropy_forward(in[0], in[1], in[2], loss, weight_sum, cross_entropy_params(i), e);
             return std::vector<Tensor>{loss, weight_sum};
           }},
      {.name = "softmax_cross_entropy_backward",
       .cases = labelled_op_cases(),
       .make_inputs =
           [](int i, uint64_t seed) {  // logits, labels, weights, weight sum
             std::vector<Tensor> in = labelled_inputs(i, seed);
             Tensor loss = Tensor::empty(Shape{1}, DType::F64), weight_sum = Tensor::empty(Shape{1}, DType::F64);
             softmax_cross_entropy_forward(in[0], in[1], in[2], loss, weight_sum, cross_entropy_params(i));
             in.push_back(weight_sum);
             return in;
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dlogits = output(in, in[0].shape());
             softmax_cross_entropy_backward(in[0], in[1], in[2], in[3], dlogits, 0.75, cross_entropy_params(i), e);
             return std::vector<Tensor>{dlogits};
           }},
  };
}

std::vector<OpSpec> all_specs() {
  std::vector<OpSpec> all;
  for (auto specs : {softmax_specs<false>, softmax_specs<true>, cross_entropy_specs})
    for (OpSpec& s : specs()) all.push_back(std::move(s));
  return all;
}

const OpTests kTests("softmax", all_specs);

}  // namespace
}  // namespace cuseg
