// Internal: CUDA confusion-matrix accumulation (see kernels/confusion.h). Returns the number of
// invalid labels, waiting for the kernel to read it.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

int64_t confusion_update(const float* logits, const void* labels, bool labels_u8, double* counts,
                         const RowGeometry& g, int ignore_index, int device);

}  // namespace cuseg::cuda
