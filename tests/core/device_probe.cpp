// Prints what device detection found. Run by ctest with CUDA_VISIBLE_DEVICES set to nothing:
// detection must say "no usable device" without a crash or a CUDA error on stderr.
#include <cstdio>

#include "cuseg/core/device.h"
#include "cuseg/core/tensor.h"

int main() {
  std::printf("cuda devices: %d (%s)\n", cuseg::cuda_device_count(), cuseg::cuda_status().c_str());
  cuseg::Tensor t = cuseg::Tensor::full(cuseg::Shape{2}, 1.0);  // the CPU keeps working
  std::printf("cpu tensor: %s\n", t.str().c_str());
  return cuseg::cuda_device_count() == 0 ? 0 : 1;
}
