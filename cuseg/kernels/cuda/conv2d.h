// Internal: cuseg's CUDA convolution kernels (grouped implicit GEMM; direct kernels for depthwise,
// cuda/depthwise.h), float32 tensors, on the device's stream. Semantics as in kernels/conv2d.h.
// `precision` Tf32 or Bf16: the GEMMs on the tensor cores (cuda/implicit_gemm_tc.cuh); the direct
// depthwise kernels stay f32 (no GEMM to put there: one multiply-add per weight and pixel).
#pragma once

#include "cuseg/kernels/backend.h"
#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, Precision precision,
                    int device);
void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          Precision precision, int device);
void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            Precision precision, int device);
// dst[n, h, w, c] = src[n, h − top, w − left, c], 0 outside src: dst [N, Hd, Wd, C] is src
// [N, Hs, Ws, C] zero-padded (top, left ≥ 0) or cropped (≤ 0). How cuDNN, whose descriptors pad
// symmetrically, runs asymmetric padding (cudnn/conv2d.cpp).
void copy_window(const float* src, int N, int Hs, int Ws, int C, float* dst, int Hd, int Wd, int top, int left,
                 int device);
void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels, int device);
void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels, int device);

}  // namespace cuseg::cuda
