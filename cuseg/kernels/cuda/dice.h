// Internal: CUDA soft Dice loss, float32 (see kernels/dice.h). labels: uint8_t when labels_u8.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

int64_t dice_forward(const float* logits, const void* labels, bool labels_u8, float* loss, float* stats,
                     const RowGeometry& g, double smooth, int ignore_index, int device);
void dice_backward(const float* logits, const void* labels, bool labels_u8, const float* stats, float* dlogits,
                   double loss_grad, const RowGeometry& g, double smooth, int ignore_index, int device);

}  // namespace cuseg::cuda
