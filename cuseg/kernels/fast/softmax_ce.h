// The fast CPU path's softmax cross-entropy over rows × classes, f32 logits, u8 or i32 labels.
// Semantics as in kernels/softmax.h (class weights, ignore label, label smoothing, focal γ); the
// reference is cpu/softmax. Per chunk of rows the exponentials are computed in one vectorized
// pass (exp.h), the sums per row in double, and the chunks' partial sums combined in order:
// the same bits on any number of threads.
#pragma once

#include <cstdint>

namespace cuseg::fast {

struct CrossEntropyRows {
  int64_t rows;
  int classes;
  int ignore_index;
  double label_smoothing, focal_gamma;
};

// Returns the number of labels outside [0, classes) that are not the ignore label.
template <class L>
int64_t softmax_cross_entropy_forward(const float* logits, const L* labels,
                                      const float* class_weights, float* loss, float* weight_sum,
                                      const CrossEntropyRows& g);
template <class L>
void softmax_cross_entropy_backward(const float* logits, const L* labels,
                                    const float* class_weights, const float* weight_sum,
                                    float* dlogits, double loss_grad, const CrossEntropyRows& g);

}  // namespace cuseg::fast
