// Which implementation runs an op. The device of the tensors decides CPU or GPU; Backend then
// chooses among that device's implementations, each named once, everywhere (code, flags, logs,
// seg_verify's JSON):
//   reference  the CPU's plain loops: the definition every other implementation is checked against
//   fast       the fast CPU path (f32, builds with oneDNN): oneDNN's primitives and cuseg's
//              vectorized kernels
//   cuda       cuseg's own CUDA kernels
//   cudnn      cuDNN
// Backend::Auto is the production choice: fast on f32 CPU tensors where the build has it, else
// the reference; cuda on the GPU.
#pragma once

namespace cuseg {

enum class Backend { Auto, Reference, Fast, Cuda, Cudnn };

const char* backend_name(Backend b);  // "auto", "reference", "fast", "cuda", "cudnn"

// The arithmetic of a convolution (a field of its params). Everything else stays f32: master
// weights, optimizer state, batch-norm statistics, softmax and losses, checkpoints.
//   F32   float32 throughout (the default)
//   Tf32  inputs and weights rounded to tf32 (10 mantissa bits), products accumulated in f32:
//         the GPU's tensor cores (cuda backend) only
//   Bf16  inputs and weights rounded to bfloat16, accumulated and written in f32: the fast CPU
//         path (oneDNN on AVX512-BF16 or AMX) and the GPU's tensor cores (cuda backend)
enum class Precision { F32, Tf32, Bf16 };

const char* precision_name(Precision p);  // "f32", "bf16"

}  // namespace cuseg
