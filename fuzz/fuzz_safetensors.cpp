// The safetensors reader: header length, JSON, dtypes, shapes, offsets, sizes; then the metadata-only path.
#include "cuseg/core/safetensors.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cuseg::fuzz::write_scratch("file.safetensors", data, size);
  try {
    cuseg::load_safetensors(path);
  } catch (const cuseg::Error&) {
  }
  try {
    cuseg::load_safetensors_metadata(path);
  } catch (const cuseg::Error&) {
  }
  return 0;
}
