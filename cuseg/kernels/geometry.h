// The sizes every implementation of an op needs, resolved and validated once by the entry
// point: CPU references, CUDA kernels and cuDNN calls all take these plain structs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuseg/core/hd.h"

namespace cuseg {

// Convolution y[N,P,Q,K] = x[N,H,W,C] ⋆ w[K,R,S,C/groups] (kernels/conv2d.h). pad_h and pad_w
// are the top and left padding, the offsets every kernel applies; pad_bottom and pad_right only
// decide P and Q, which are already resolved here (and matter to oneDNN and cuDNN, which want
// the padding rather than the output size).
struct ConvGeometry {
  int N, H, W, C;
  int K, R, S;
  int P, Q;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  int pad_bottom, pad_right;
  int groups;

  CUSEG_HD int group_c() const { return C / groups; }  // input channels per group: w's last dim
  CUSEG_HD int group_k() const { return K / groups; }  // output channels per group
  CUSEG_HD bool symmetric() const { return pad_bottom == pad_h && pad_right == pad_w; }
  CUSEG_HD int64_t x_size() const { return int64_t(N) * H * W * C; }
  CUSEG_HD int64_t w_size() const { return int64_t(K) * R * S * group_c(); }
  CUSEG_HD int64_t y_size() const { return int64_t(N) * P * Q * K; }
  CUSEG_HD double flops() const {
    return 2.0 * double(N) * P * Q * K * R * S * group_c();
  }  // multiply-adds × 2
};

// Pooling y[N,P,Q,C] over windows of x[N,H,W,C].
struct PoolGeometry {
  int N, H, W, C;
  int P, Q;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  bool count_include_pad;

  CUSEG_HD int64_t x_size() const { return int64_t(N) * H * W * C; }
  CUSEG_HD int64_t y_size() const { return int64_t(N) * P * Q * C; }
};

// Resizing x[N,H,W,C] to y[N,P,Q,C].
struct ResizeGeometry {
  int N, H, W, C;
  int P, Q;

  CUSEG_HD int64_t x_size() const { return int64_t(N) * H * W * C; }
  CUSEG_HD int64_t y_size() const { return int64_t(N) * P * Q * C; }
};

// Rows × channels: softmax runs over the last dimension of a contiguous tensor.
struct RowGeometry {
  int64_t rows;
  int channels;
};

// Groups of channels in each sample of x[N,H,W,C]: G groups of C/G consecutive channels.
// Group normalization takes its statistics per (n, g); channel dropout (G = C) and drop path
// (G = 1) draw one mask value per (n, g).
struct GroupGeometry {
  int N;
  int64_t HW;
  int C, G;

  CUSEG_HD int group_channels() const { return C / G; }
  CUSEG_HD int64_t group_size() const { return HW * (C / G); }  // elements of one (n, g)
  CUSEG_HD int64_t x_size() const { return int64_t(N) * HW * C; }
};

}  // namespace cuseg
