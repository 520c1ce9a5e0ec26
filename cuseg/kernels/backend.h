// Which implementation runs an op. The device of the tensors decides CPU or GPU; on the GPU,
// Backend chooses between cuseg's own CUDA kernels (Native, the default) and cuDNN.
#pragma once

namespace cuseg {

enum class Backend { Auto, Native, Cudnn };

const char* backend_name(Backend b);  // "auto", "native", "cudnn"

}  // namespace cuseg
