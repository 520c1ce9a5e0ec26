// The emulated CUDA build's <cuda_runtime.h>: cuseg's .cu sources compile with the host compiler
// against this header and run on CPU threads (see cuseg/emu/README.md). Only what cuseg uses is
// here; a CUDA feature that is missing is a compile error, never a silent no-op.
#pragma once

#include "cuseg/emu/runtime_api.h"
#include "cuseg/emu/device_api.h"
