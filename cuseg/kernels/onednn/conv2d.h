// Internal: convolution on the CPU through oneDNN (f32 NHWC activations, KRSC weights reordered
// into the layout oneDNN picks). Same semantics as kernels/cpu/conv2d.h: y and dx are assigned,
// dw accumulates. With Precision::Bf16 the inputs the primitive reads (x, w, dy) are rounded to
// bf16 on the way in; it accumulates in f32 and writes f32.
#pragma once

#include "cuseg/kernels/backend.h"
#include "cuseg/kernels/geometry.h"

namespace cuseg::onednn {

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, Precision precision);
void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          Precision precision);
void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            Precision precision);

// Whether the primitives of this geometry run oneDNN's Winograd convolution (conv2d.cpp says
// when): the tests ask, so that the cases meant to run it are known to.
bool uses_winograd(const ConvGeometry& g, Precision precision);

// Throws "op: bf16 needs ... (this CPU: ...)" where the CPU has no bf16 instructions.
void require_bf16(const char* op);

}  // namespace cuseg::onednn
