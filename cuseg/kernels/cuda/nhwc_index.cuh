// The (n, row, column, channel) of a flat NHWC index: how the one-thread-per-element kernels of
// pooling and resizing find their element.
#pragma once

#include <cstdint>

namespace cuseg::cuda {

struct Index4 {
  int n, a, b, c;  // (n, row, column, channel) of a flat NHWC index
};

__device__ __forceinline__ Index4 unflatten(int64_t i, int rows, int cols, int channels) {
  const int c = int(i % channels);
  int64_t rest = i / channels;
  const int b = int(rest % cols);
  rest /= cols;
  return {int(rest / rows), int(rest % rows), b, c};
}

}  // namespace cuseg::cuda
