#include "cuseg/kernels/fast/pool2d.h"

#include <cstring>

#include "cuseg/kernels/fast/parallel.h"
#include "cuseg/kernels/pool_window.h"

namespace cuseg::fast {

namespace {

CUSEG_ISA_CLONES void take_first(const float* in, int32_t position, float* best, int32_t* index,
                                 int channels) {
  for (int c = 0; c < channels; ++c) {
    best[c] = in[c];
    index[c] = position;
  }
}

// max_pool_replaces, as selects.
CUSEG_ISA_CLONES void take_if_greater(const float* in, int32_t position, float* best,
                                      int32_t* index, int channels) {
  for (int c = 0; c < channels; ++c) {
    const float v = in[c], b = best[c];
    const bool take = (v > b) | ((v != v) & (b == b));
    best[c] = take ? v : b;
    index[c] = take ? position : index[c];
  }
}

// dx[argmax] += dy over one row of outputs.
void scatter_row(const float* dy, const int32_t* argmax, float* dx_image, int64_t outputs,
                 int channels) {
  for (int64_t o = 0; o < outputs; ++o)
    for (int c = 0; c < channels; ++c) {
      const int32_t i = argmax[o * channels + c];
      if (i >= 0) dx_image[int64_t(i) * channels + c] += dy[o * channels + c];
    }
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeometry& g) {
  // One chunk per output row (n, p).
  for_chunks(int64_t(g.N) * g.P, 1, [&](int64_t, int64_t row, int64_t) {
    const int n = int(row / g.P), p = int(row % g.P);
    const float* image = x + int64_t(n) * g.H * g.W * g.C;
    for (int q = 0; q < g.Q; ++q) {
      float* best = y + (row * g.Q + q) * g.C;
      int32_t* index = argmax + (row * g.Q + q) * g.C;
      bool first = true;
      for_each_window_input(g, p, q, [&](int h, int w) {
        const float* in = image + (int64_t(h) * g.W + w) * g.C;
        if (first)
          take_first(in, h * g.W + w, best, index, g.C);
        else
          take_if_greater(in, h * g.W + w, best, index, g.C);
        first = false;
      });
      if (first)  // no input in the window (not a geometry make_geometry accepts; kept as the
                  // reference)
        for (int c = 0; c < g.C; ++c) index[c] = -1;
    }
  });
}

void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeometry& g) {
  const int64_t image = int64_t(g.H) * g.W * g.C, outputs_per_row = int64_t(g.Q);
  // Windows that do not overlap in h write disjoint input rows: one chunk per output row. Where
  // they overlap, one chunk per image, its rows in order.
  const bool rows_disjoint = g.stride_h >= g.kernel_h;
  for_chunks(int64_t(g.N), 1, [&](int64_t n, int64_t, int64_t) {
    std::memset(dx + n * image, 0, size_t(image) * 4);
  });
  if (rows_disjoint) {
    for_chunks(int64_t(g.N) * g.P, 1, [&](int64_t, int64_t row, int64_t) {
      const int64_t o = row * g.Q * g.C;
      scatter_row(dy + o, argmax + o, dx + (row / g.P) * image, outputs_per_row, g.C);
    });
  } else {
    for_chunks(int64_t(g.N), 1, [&](int64_t n, int64_t, int64_t) {
      const int64_t o = n * g.P * g.Q * g.C;
      scatter_row(dy + o, argmax + o, dx + n * image, int64_t(g.P) * g.Q, g.C);
    });
  }
}

}  // namespace cuseg::fast
