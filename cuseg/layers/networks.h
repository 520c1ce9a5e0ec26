// Any network of model_config.h, built as a Graph with input "image" [N, H, W, in_channels] and
// output "logits" [N, H, W, classes]: unet-s (layers/unet.h), or one of the model zoo's
// (layers/zoo/: segmentation_models_pytorch's networks under its module names, initialized as SMP
// initializes them).
#pragma once

#include <memory>

#include "cuseg/layers/graph.h"
#include "cuseg/layers/model_config.h"

namespace cuseg {

std::unique_ptr<Graph> build_model(const ModelConfig& config);

}  // namespace cuseg
