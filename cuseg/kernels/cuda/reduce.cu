#include <cmath>

#include "cuseg/kernels/cuda/flat_reduce.cuh"
#include "cuseg/kernels/cuda/reduce.h"

namespace cuseg::cuda {

namespace {

struct Element {
  const float* x;
  bool squares;
  __device__ double operator()(int64_t i) const {
    const double v = __ldg(x + i);
    return squares ? v * v : v;
  }
};

struct Store {
  float* out;
  int64_t n;
  Reduction kind;
  __device__ void operator()(double total) const {
    *out = float(kind == Reduction::Mean ? total / double(n) : kind == Reduction::L2Norm ? sqrt(total) : total);
  }
};

}  // namespace

void reduce(const float* x, int64_t n, Reduction kind, float* out, int device) {
  flat_reduce(n, Element{x, kind == Reduction::L2Norm}, Store{out, n, kind}, device);
}

}  // namespace cuseg::cuda
