// Static shared memory, declared the one way both builds understand:
//   CUSEG_SHARED(float, tile, [16][64]);      is      __shared__ float tile[16][64];
// On a GPU it is that declaration. In the emulated build (cuseg/emu/device_api.h) every block
// gets its own buffer, NaN bytes until written, as a real block's shared memory is garbage: the
// emulator may then run blocks side by side (CUSEG_EMU_SCHEDULE=shuffled), and a read of an
// element no thread wrote shows.
#pragma once

#include <cuda_runtime.h>

#include "cuseg/config.h"

#if !CUSEG_CUDA_EMULATED
#define CUSEG_SHARED(type, name, dims) __shared__ type name dims
#endif
