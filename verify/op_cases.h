// What the op families' test cases (cuseg/kernels/*_cases.cpp) share: random inputs, outputs
// poisoned or pre-filled, and the case lists several families use.
#pragma once

#include <vector>

#include "cuseg/core/tensor.h"
#include "verify/registry.h"

namespace cuseg::cases {

// The value accumulating outputs start from: exact in every dtype, and not a value an assigning
// kernel would produce by accident.
constexpr double kAccumulateStart = 0.5;

Tensor random_f64(const Shape& shape, uint64_t seed, double low = -1, double high = 1);

// What a case's inputs hold. Random floats never tie, are never exactly zero and are never
// subnormal, so the rules an op's definition has for those (max pooling's and arg-max's first
// maximum, ReLU's derivative at 0, ReLU6's at 6, a constant channel's variance) would go
// unchecked with them alone.
enum class Values {
  Random,    // uniform in [low, high)
  Ties,      // a few exact values, repeated: the bounds, their halves, 0 and −0, ±1e-40 (a float32
             // subnormal), where they lie in [low, high]
  Constant,  // every element (low + high)/2
};
// An f64 tensor of `values` (Random: random_f64).
Tensor draw_f64(const Shape& shape, uint64_t seed, double low, double high, Values values);

// The floating dtype and device of a run: those of its first input.
DType float_type(const std::vector<Tensor>& in);
Device device_of(const std::vector<Tensor>& in);
// An output of the run's dtype and device, poisoned; or pre-filled with kAccumulateStart.
Tensor output(const std::vector<Tensor>& in, const Shape& shape);
Tensor accumulator(const std::vector<Tensor>& in, const Shape& shape);

// Shapes of row-wise and elementwise ops (softmax, activations, losses, reductions): batch 1,
// 1 and 3 channels, odd sizes, more channels than a warp, a U-Net-sized case.
struct RowsCase {
  Shape x;
  bool unet = false;
  Values values = Values::Random;
};
const std::vector<RowsCase>& rows_cases();
std::vector<OpCase> rows_op_cases();
// Case i's input in [low, high) with the case's values.
Tensor rows_input(int i, uint64_t seed, double low = -1, double high = 1);
// "x[2,7,9,3]", and " ties" or " constant" where the values are.
std::string case_label(const Shape& x, Values values);

// Logits and per-pixel labels (cross-entropy, Dice, the confusion matrix): u8 and i32 labels,
// ignored pixels, class weights, a logit scale of 1e4 (stability), label smoothing and focal γ.
struct LabelledCase {
  Shape logits;
  DType label_type;
  bool weighted;
  double ignored_fraction;
  double logit_scale;
  bool unet = false;
  double smoothing = 0;
  double focal_gamma = 0;
  Values values = Values::Random;  // of the logits
  // u8 labels ignore 255 (cuseg's default), i32 labels -100 (PyTorch's).
  int ignore_index() const { return label_type == DType::U8 ? 255 : -100; }
};
const std::vector<LabelledCase>& labelled_cases();
std::vector<OpCase> labelled_op_cases();
// logits, labels, class weights (undefined when unweighted).
std::vector<Tensor> labelled_inputs(int i, uint64_t seed);

}  // namespace cuseg::cases
