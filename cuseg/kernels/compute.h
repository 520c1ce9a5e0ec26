// What runs the ops, as the tools and the trainer choose it: a backend by name, the number of CPU
// threads, and the one line that says which implementation and instruction set will run.
#pragma once

#include <string>

#include "cuseg/core/device.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

// "auto", "reference", "fast", "cuda", "cudnn" (backend.h); anything else throws, naming them.
Backend parse_backend(const std::string& name);
// "f32" or "bf16".
Precision parse_precision(const std::string& name);

// Threads for the CPU ops (OpenMP, which oneDNN shares): 0 means every core this process may use.
// Throws for a negative count or more than that.
void set_cpu_threads(int threads);
int cpu_threads();       // what CPU ops will use now
int cpu_cores();         // the cores this process may run on

// Whether this build and CPU can run bf16 convolutions (oneDNN, AVX512-BF16 or AMX).
bool cpu_has_bf16();

// Throws a one-line error where convolutions in `precision` cannot run on `device` with `backend`
// (bf16: the fast CPU path, on a CPU with bf16 instructions).
void check_precision(Device device, Backend backend, Precision precision);

// One line, e.g. "cpu: fast path (oneDNN 2.6.3, avx512_core_amx), 2 threads" or
// "cpu: reference kernels (this build has no oneDNN, so no fast path), 2 threads" or
// "cuda:0: cuseg CUDA kernels". Throws where `backend` cannot run on `device` in this build.
std::string compute_description(Device device, Backend backend, Precision precision = Precision::F32);

// What compute_description says, and what a run's records give of it: the implementation that
// computes the heavy ops ("reference", "fast", "cuda" or "cudnn": backend.h's names) and the
// instruction set it runs — oneDNN's and that of the clone of cuseg's fast kernels, the
// reference's compile target, the GPU. Throws as compute_description.
struct ComputeInfo {
  std::string implementation, isa;
  std::string line;  // compute_description's
};
ComputeInfo compute_info(Device device, Backend backend, Precision precision = Precision::F32);

}  // namespace cuseg
