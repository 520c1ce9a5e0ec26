// Internal: CUDA soft Dice loss, float32 (see kernels/dice.h). labels: uint8_t when labels_u8.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

// Returns the number of invalid labels (waiting for the device), or adds it to `add_invalid_to`
// on the device and returns 0 (as softmax_cross_entropy_forward).
int64_t dice_forward(const float* logits, const void* labels, bool labels_u8, float* loss, float* stats,
                     const RowGeometry& g, double smooth, int ignore_index, int device,
                     double* add_invalid_to = nullptr);
void dice_backward(const float* logits, const void* labels, bool labels_u8, const float* stats, float* dlogits,
                   double loss_grad, const RowGeometry& g, double smooth, int ignore_index, int device);

}  // namespace cuseg::cuda
