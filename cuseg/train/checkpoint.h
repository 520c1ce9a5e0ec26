// Checkpoints: one safetensors file (any safetensors reader opens it) holding the model's
// parameters and batch-norm buffers under "model.<name>", the optimizer's state under
// "optim.<name>", and string metadata — the model configuration among it, so that loading a
// checkpoint into a differently configured model is refused by name before any tensor is
// touched. Written atomically (temporary file, fsync, rename): a crash leaves the previous file.
#pragma once

#include <map>
#include <string>

#include "cuseg/layers/graph.h"
#include "cuseg/layers/unet.h"
#include "cuseg/optim/optimizer.h"

namespace cuseg {

// "unet-s in=3 classes=4 base=32 depth=4 bn=1 up=transposed": what makes two models compatible.
std::string describe_model(const UNetConfig& config);

// metadata may carry anything (class names, normalization, training state); "model" is set
// from the configuration. optimizer may be null (a model-only checkpoint).
void save_checkpoint(const std::string& path, Graph& model, const UNetConfig& config, const Optimizer* optimizer,
                     std::map<std::string, std::string> metadata = {});

// Loads into model (and optimizer when given); returns the metadata. Throws naming the file
// when the model description differs, or a tensor is missing, extra, or of another shape.
std::map<std::string, std::string> load_checkpoint(const std::string& path, Graph& model, const UNetConfig& config,
                                                   Optimizer* optimizer);

}  // namespace cuseg
