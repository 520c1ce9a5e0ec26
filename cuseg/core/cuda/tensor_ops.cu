#include <cuda_bf16.h>

#include "cuseg/core/convert.h"
#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/cuda/tensor_ops.h"
#include "cuseg/core/philox.h"

namespace cuseg::cuda {

namespace {

template <class T>
__device__ T from_double(double v) {
  return saturate_cast<T>(v);
}
template <>
__device__ uint16_t from_double<uint16_t>(double v) {  // bf16 bits, rounded to nearest even
  __nv_bfloat16 b = __float2bfloat16_rn(float(v));
  return *reinterpret_cast<uint16_t*>(&b);
}

template <class T>
__global__ void fill_kernel(T* data, int64_t n, T value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    data[i] = value;
}

template <class T>
__global__ void fill_uniform_kernel(T* data, int64_t n, uint64_t seed, double low, double range) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    // __dmul_rn/__dadd_rn: no fused multiply-add, so the result matches the host bit for bit.
    double v = __dadd_rn(low, __dmul_rn(range, philox_uniform01(seed, uint64_t(i))));
    data[i] = from_double<T>(v);
  }
}

template <class F>
void dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case DType::F32:
      return f(float{});
    case DType::F64:
      return f(double{});
    case DType::Bf16:
      return f(uint16_t{});
    case DType::I32:
      return f(int32_t{});
    case DType::U8:
      return f(uint8_t{});
  }
}

constexpr int kThreads = 256;
unsigned blocks_for(int64_t n) { return std::min<unsigned>(grid_1d(n, kThreads), 65535u); }

}  // namespace

void fill(void* data, DType dtype, int64_t n, double value, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T v;
    if constexpr (std::is_same_v<T, uint16_t>) {
      v = float_to_bf16(float(value)).bits;
    } else {
      v = saturate_cast<T>(value);
    }
    CUSEG_LAUNCH(fill_kernel<T>, blocks_for(n), kThreads, 0, s, static_cast<T*>(data), n, v);
  });
}

void fill_uniform(void* data, DType dtype, int64_t n, uint64_t seed, double low, double high,
                  int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    CUSEG_LAUNCH(fill_uniform_kernel<T>, blocks_for(n), kThreads, 0, s, static_cast<T*>(data), n,
                 seed, low, high - low);
  });
}

}  // namespace cuseg::cuda
