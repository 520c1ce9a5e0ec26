// The test cases of channel concat and split (concat.h), for the op registry (verify/registry.h).
#include "cuseg/kernels/concat.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

// The channel counts of the parts, on a shared N×H×W.
struct ConcatCase {
  Shape nhw;
  std::vector<int64_t> channels;
  bool unet = false;
};

const std::vector<ConcatCase>& concat_cases() {
  static const std::vector<ConcatCase> cases = {
      {{1, 5, 7}, {1, 2}},     {{2, 9, 11}, {3, 3}}, {{1, 4, 4}, {1, 5, 2}},         {{3, 13, 10}, {16, 17}},
      {{2, 6, 5}, {33, 1}},    {{1, 3, 3}, {1}},     {{2, 64, 64}, {64, 64}, true},
  };
  return cases;
}

Shape with_channels(const Shape& nhw, int64_t c) { return Shape{nhw[0], nhw[1], nhw[2], c}; }

// The parts' shapes and the whole's.
std::vector<Shape> part_shapes(int i) {
  std::vector<Shape> out;
  for (int64_t c : concat_cases()[size_t(i)].channels) out.push_back(with_channels(concat_cases()[size_t(i)].nhw, c));
  return out;
}
Shape whole_shape(int i) {
  int64_t sum = 0;
  for (int64_t k : concat_cases()[size_t(i)].channels) sum += k;
  return with_channels(concat_cases()[size_t(i)].nhw, sum);
}

std::vector<OpSpec> concat_specs() {
  std::vector<OpCase> cases;
  for (const ConcatCase& c : concat_cases()) {
    std::string label = str_cat("nhw", c.nhw.str(), " channels");
    for (int64_t k : c.channels) label += str_cat(" ", k);
    cases.push_back({label, c.unet});
  }
  return {
      {.name = "concat_channels",
       .cases = cases,
       .make_inputs =
           [](int i, uint64_t seed) {
             std::vector<Tensor> parts;
             for (const Shape& s : part_shapes(i)) parts.push_back(random_f64(s, seed++));
             return parts;
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor out = output(in, whole_shape(i));
             concat_channels(in, out, e);
             return std::vector<Tensor>{out};
           }},
      {.name = "split_channels",
       .cases = cases,
       .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(whole_shape(i), seed)}; },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             std::vector<Tensor> parts;
             for (const Shape& s : part_shapes(i)) parts.push_back(output(in, s));
             split_channels(in[0], parts, e);
             return parts;
           }},
  };
}

const OpTests kTests("concat", concat_specs);

}  // namespace
}  // namespace cuseg
