// The safetensors reader: header length, JSON, dtypes, shapes, offsets, sizes; then the
// metadata-only path. Twice, on a zeroed and on a dirtied heap (fuzz_util.h).
#include "cuseg/core/safetensors.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cuseg::fuzz::write_scratch("file.safetensors", data, size);
  cuseg::fuzz::read_clean_and_dirty([&] {
    std::string out;
    try {
      const cuseg::SafetensorsFile f = cuseg::load_safetensors(path);
      for (const auto& [name, t] : f.tensors)
        out += name + " " + t.str() + " " + std::to_string(cuseg::fuzz::hash_bytes(t.raw_data(), t.nbytes())) + "; ";
      for (const auto& [key, value] : f.metadata) out += key + "=" + value + "; ";
    } catch (const cuseg::Error& e) {
      out += std::string(e.what()) + "; ";
    }
    try {
      for (const auto& [key, value] : cuseg::load_safetensors_metadata(path)) out += key + "=" + value + "; ";
    } catch (const cuseg::Error& e) {
      out += e.what();
    }
    return out;
  });
  return 0;
}
