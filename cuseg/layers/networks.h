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

// The tensor a network's last convolution writes: "logits", or for one class (a binary head,
// segmentation_models_pytorch's classes=1) "foreground", which a BinaryLogits layer turns into
// the logits of background and foreground (layers.h).
const char* head_output(const ModelConfig& config);

}  // namespace cuseg
