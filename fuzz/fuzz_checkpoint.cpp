// Checkpoint loading into a model: the metadata (model description, classes, palette,
// normalization, input size), the model built from it, and every tensor's name, shape and dtype.
// Twice, on a zeroed and on a dirtied heap (fuzz_util.h).
#include "cuseg/layers/graph.h"
#include "cuseg/model/checkpoint.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cuseg::fuzz::write_scratch("checkpoint.safetensors", data, size);
  cuseg::fuzz::read_clean_and_dirty([&] {
    try {
      cuseg::ModelInfo info;
      std::unique_ptr<cuseg::Graph> model = cuseg::load_model(path, cuseg::Device::cpu(), &info);
      std::string out;
      for (const auto& [key, value] : info.metadata) out += key + "=" + value + "; ";
      for (cuseg::Parameter* p : model->parameters())
        out += p->name + " " + p->value.str() + " " +
               std::to_string(cuseg::fuzz::hash_bytes(p->value.raw_data(), p->value.nbytes())) + "; ";
      return out;
    } catch (const cuseg::Error& e) {
      return std::string(e.what());
    }
  });
  return 0;
}
