// Checkpoint loading into a model: the metadata (model description, classes, palette,
// normalization, input size), the model built from it, and every tensor's name, shape and dtype.
#include "cuseg/train/checkpoint.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cuseg::fuzz::write_scratch("checkpoint.safetensors", data, size);
  try {
    cuseg::ModelInfo info;
    cuseg::load_model(path, cuseg::Device::cpu(), &info);
  } catch (const cuseg::Error&) {
  }
  return 0;
}
