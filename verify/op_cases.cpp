#include "verify/op_cases.h"

#include <algorithm>

namespace cuseg::cases {

Tensor random_f64(const Shape& shape, uint64_t seed, double low, double high) {
  Tensor t = Tensor::empty(shape, DType::F64);
  t.fill_uniform(seed, low, high);
  return t;
}

Tensor draw_f64(const Shape& shape, uint64_t seed, double low, double high, Values values) {
  if (values == Values::Random) return random_f64(shape, seed, low, high);
  if (values == Values::Constant) return Tensor::full(shape, (low + high) / 2, DType::F64);
  std::vector<double> pool;
  for (double v : {low, high, low / 2, high / 2, 0.0, -0.0, 1e-40, -1e-40})
    if (v >= low && v <= high) pool.push_back(v);
  std::vector<double> out = random_f64(shape, seed, 0, 1).to_vector<double>();
  for (double& u : out) u = pool[std::min(pool.size() - 1, size_t(u * double(pool.size())))];
  return Tensor::from_vector(out, shape);
}

DType float_type(const std::vector<Tensor>& in) { return in.front().dtype(); }
Device device_of(const std::vector<Tensor>& in) { return in.front().device(); }

Tensor output(const std::vector<Tensor>& in, const Shape& shape) {
  return poisoned(shape, float_type(in), device_of(in));
}
Tensor accumulator(const std::vector<Tensor>& in, const Shape& shape) {
  return Tensor::full(shape, kAccumulateStart, float_type(in), device_of(in));
}

const std::vector<RowsCase>& rows_cases() {
  static const std::vector<RowsCase> cases = {
      {{1, 5, 7, 1}},  {{2, 9, 11, 3}},  {{1, 1, 1, 2}},   {{3, 13, 10, 21}},
      {{2, 5, 6, 33}}, {{1, 7, 3, 150}}, {{3, 37, 41, 7}}, {{2, 64, 64, 64}, true},
      {{2, 7, 9, 3}, false, Values::Ties},
  };
  return cases;
}

std::string case_label(const Shape& x, Values values) {
  return str_cat("x", x.str(), values == Values::Ties ? " ties" : values == Values::Constant ? " constant" : "");
}

std::vector<OpCase> rows_op_cases() {
  std::vector<OpCase> out;
  for (const RowsCase& c : rows_cases()) out.push_back({case_label(c.x, c.values), c.unet});
  return out;
}

Tensor rows_input(int i, uint64_t seed, double low, double high) {
  const RowsCase& c = rows_cases()[size_t(i)];
  return draw_f64(c.x, seed, low, high, c.values);
}

const std::vector<LabelledCase>& labelled_cases() {
  static const std::vector<LabelledCase> cases = {
      {{1, 5, 7, 2}, DType::U8, false, 0.0, 3},
      {{2, 9, 11, 3}, DType::I32, true, 0.0, 3, false, 0, 0.5},
      {{3, 13, 10, 21}, DType::U8, true, 0.2, 3},
      {{2, 5, 6, 33}, DType::I32, false, 0.3, 3, false, 0.1},
      {{1, 7, 3, 150}, DType::U8, true, 0.0, 3, false, 0, 2.0},
      {{2, 16, 16, 5}, DType::I32, true, 0.1, 1e4},
      {{3, 37, 41, 11}, DType::U8, true, 0.1, 8},
      {{2, 64, 64, 8}, DType::U8, true, 0.1, 3, true, 0.05},
      // Tied logits: arg-max's first maximum (the confusion matrix), and softmax over equal values.
      {{1, 5, 7, 4}, DType::I32, true, 0.1, 2, false, 0, 0, Values::Ties},
  };
  return cases;
}

std::vector<OpCase> labelled_op_cases() {
  std::vector<OpCase> out;
  for (const LabelledCase& c : labelled_cases())
    out.push_back({str_cat("logits", c.logits.str(), " labels ", dtype_name(c.label_type), c.weighted ? " weighted" : "",
                           " ignore ", c.ignored_fraction, " scale ", c.logit_scale,
                           c.values == Values::Ties ? " ties" : ""),
                   c.unet});
  return out;
}

std::vector<Tensor> labelled_inputs(int i, uint64_t seed) {
  const LabelledCase& c = labelled_cases()[size_t(i)];
  const int classes = int(c.logits[3]);
  const Shape label_shape{c.logits[0], c.logits[1], c.logits[2]};
  const std::vector<double> pick = random_f64(label_shape, seed + 1, 0, 1).to_vector<double>();
  const std::vector<double> drop = random_f64(label_shape, seed + 2, 0, 1).to_vector<double>();
  std::vector<int32_t> labels(pick.size());
  for (size_t j = 0; j < pick.size(); ++j)
    labels[j] = drop[j] < c.ignored_fraction ? c.ignore_index() : std::min(classes - 1, int(pick[j] * classes));
  Tensor label_tensor = Tensor::from_vector(labels, label_shape);
  if (c.label_type == DType::U8) label_tensor = label_tensor.to(DType::U8);
  Tensor weights = c.weighted ? random_f64(Shape{classes}, seed + 3, 0.25, 2) : Tensor();
  return {draw_f64(c.logits, seed, -c.logit_scale, c.logit_scale, c.values), label_tensor, weights};
}

}  // namespace cuseg::cases
