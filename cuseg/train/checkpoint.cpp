#include "cuseg/train/checkpoint.h"

#include "cuseg/core/safetensors.h"

namespace cuseg {

std::string describe_model(const UNetConfig& c) {
  return str_cat("unet in=", c.in_channels, " classes=", c.classes, " base=", c.base, " depth=", c.depth,
                 " bn=", c.batch_norm ? 1 : 0, " up=", c.upsample == UNetUpsample::Bilinear ? "bilinear" : "transposed",
                 " dropout=", c.bottleneck_dropout);
}

void save_checkpoint(const std::string& path, Graph& model, const UNetConfig& config, const Optimizer* optimizer,
                     std::map<std::string, std::string> metadata) {
  std::map<std::string, Tensor> tensors;
  for (auto& [name, t] : model.state()) tensors["model." + name] = t;
  if (optimizer)
    for (auto& [name, t] : optimizer->state()) tensors["optim." + name] = t;
  metadata["model"] = describe_model(config);
  metadata["format"] = "cuseg-checkpoint-1";
  save_safetensors(path, tensors, metadata);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, Graph& model, const UNetConfig& config,
                                                   Optimizer* optimizer) {
  const SafetensorsFile file = load_safetensors(path);
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  CUSEG_CHECK(meta("format") == "cuseg-checkpoint-1", path, ": not a cuseg checkpoint (format '", meta("format"), "')");
  CUSEG_CHECK(meta("model") == describe_model(config), path, ": checkpoint of another model configuration: it holds '",
              meta("model"), "', this model is '", describe_model(config), "'");
  std::map<std::string, Tensor> model_state, optim_state;
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("model.", 0) == 0) {
      model_state[name.substr(6)] = t;
    } else if (name.rfind("optim.", 0) == 0) {
      optim_state[name.substr(6)] = t;
    } else {
      throw_error(str_cat(path, ": unexpected tensor '", name, "'"));
    }
  }
  try {
    model.load_state(model_state);
    if (optimizer) {
      CUSEG_CHECK(!optim_state.empty(), "the checkpoint holds no optimizer state");
      optimizer->load_state(optim_state);
    }
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  return file.metadata;
}

}  // namespace cuseg
