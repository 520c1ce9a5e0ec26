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
};
const std::vector<RowsCase>& rows_cases();
std::vector<OpCase> rows_op_cases();

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
  // u8 labels ignore 255 (cuseg's default), i32 labels -100 (PyTorch's).
  int ignore_index() const { return label_type == DType::U8 ? 255 : -100; }
};
const std::vector<LabelledCase>& labelled_cases();
std::vector<OpCase> labelled_op_cases();
// logits, labels, class weights (undefined when unweighted).
std::vector<Tensor> labelled_inputs(int i, uint64_t seed);

}  // namespace cuseg::cases
