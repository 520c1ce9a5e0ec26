// Static shared memory, declared the one way both builds understand:
//   CUSEG_SHARED(float, tile, [16][64]);                  is   __shared__ float tile[16][64];
//   CUSEG_SHARED_ALIGNED(16, float, tile, [16][64]);      is   __shared__ __align__(16) float tile[16][64];
// On a GPU it is that declaration. In the emulated build (cuseg/emu/device_api.h) every block
// gets its own buffer, NaN bytes until written, as a real block's shared memory is garbage: the
// emulator may then run blocks side by side (CUSEG_EMU_SCHEDULE=shuffled), and a read of an
// element no thread wrote shows. The buffer is aligned as declared and no more, so a 128-bit
// access (float4, cp.async) into an array not declared 16-aligned fails there as it may here.
#pragma once

#include <cuda_runtime.h>

#include "cuseg/config.h"

#if !CUSEG_CUDA_EMULATED
#define CUSEG_SHARED(type, name, dims) __shared__ type name dims
#define CUSEG_SHARED_ALIGNED(alignment, type, name, dims) __shared__ __align__(alignment) type name dims
#endif
