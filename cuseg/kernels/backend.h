// Which implementation runs an op. The device of the tensors decides CPU or GPU; Backend then
// chooses among that device's implementations:
//   Auto    the production path: on the CPU the fast path where the build has it (oneDNN) and the
//           tensors are f32, else the reference; on the GPU cuseg's own CUDA kernels.
//   Native  cuseg's own plain code: on the CPU the reference loops (what everything else is
//           checked against), on the GPU cuseg's CUDA kernels.
//   Cudnn   cuDNN (CUDA tensors only).
//   Fast    the fast CPU path (CPU f32 tensors, builds with oneDNN): oneDNN's primitives for the
//           ops it has; an op without a fast implementation runs its reference.
#pragma once

namespace cuseg {

enum class Backend { Auto, Native, Cudnn, Fast };

const char* backend_name(Backend b);  // "auto", "native", "cudnn", "fast"

// The arithmetic of a convolution (a field of its params): F32, or Bf16 — inputs and weights
// rounded to bfloat16, products accumulated and outputs written in f32 (oneDNN on AVX512-BF16 or
// AMX; the fast CPU path only). Everything else stays f32: master weights, optimizer state,
// batch-norm statistics, softmax and losses, checkpoints.
enum class Precision { F32, Bf16 };

const char* precision_name(Precision p);  // "f32", "bf16"

}  // namespace cuseg
