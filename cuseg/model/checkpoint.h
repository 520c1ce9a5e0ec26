// Checkpoints: one safetensors file (any safetensors reader opens it) holding the model's
// parameters and batch-norm buffers under "model.<name>", the optimizer's state under
// "optim.<name>", and string metadata — the model configuration among it, so that loading a
// checkpoint into a differently configured model is refused by name before any tensor is
// touched. Written atomically (temporary file, fsync, rename): a crash leaves the previous file.
#pragma once

#include <map>
#include <string>

#include "cuseg/data/statistics.h"
#include "cuseg/layers/graph.h"
#include "cuseg/layers/model_config.h"
#include "cuseg/optim/optimizer.h"

namespace cuseg {

// What makes two models compatible, in one line that parse_model_description reads back:
// unet-s "unet in=3 classes=4 base=32 depth=4 bn=1 up=transposed dropout=0", a model zoo network
// "smp arch=unet encoder=resnet34 in=3 classes=4 encoder_depth=5 decoder=256,128,64,32,16".
std::string describe_model(const ModelConfig& config);
ModelConfig parse_model_description(const std::string& text);

// What a tool needs to use a checkpoint's model: its configuration, the class names and colours,
// the normalization its inputs had and the size it was trained at. Stored in the metadata under
// "model", "classes", "palette", "normalization", "input" and "ignore_index".
struct ModelInfo {
  ModelConfig config;
  std::vector<std::string> class_names;
  Palette palette;  // may be empty
  Normalization normalization;
  int height = 0, width = 0;
  int ignore_index = 255;
  std::map<std::string, std::string> metadata;  // everything, as stored

  std::map<std::string, std::string> to_metadata() const;
  static ModelInfo from_metadata(const std::string& path, const std::map<std::string, std::string>& metadata);
};

// metadata may carry anything (class names, normalization, training state); "model" is set
// from the configuration. optimizer may be null (a model-only checkpoint).
void save_checkpoint(const std::string& path, Graph& model, const ModelConfig& config, const Optimizer* optimizer,
                     std::map<std::string, std::string> metadata = {});

// Loads into model (and optimizer when given); returns the metadata. Throws naming the file
// when the model description differs, or a tensor is missing, extra, or of another shape.
std::map<std::string, std::string> load_checkpoint(const std::string& path, Graph& model, const ModelConfig& config,
                                                   Optimizer* optimizer);

// The model of a checkpoint, built from its description, loaded and moved to `device`, in
// evaluation mode; `info` receives the rest.
std::unique_ptr<Graph> load_model(const std::string& path, Device device, ModelInfo* info = nullptr);

}  // namespace cuseg
