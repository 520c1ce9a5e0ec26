// CUSEG_HD marks small functions that run on the host and, compiled by nvcc, on the device:
// one definition keeps CPU reference and CUDA kernel in agreement.
#pragma once

#if defined(__CUDACC__)
#define CUSEG_HD __host__ __device__ __forceinline__
#else
#define CUSEG_HD inline
#endif
