// A segmentation_models_pytorch model as a file: what people have after training in PyTorch is a
// state dict, saved with safetensors (or torch.save, which python's cuseg.convert_pth turns into
// safetensors) — no description of the network beside it. Its keys and shapes say which network
// it is, as far as a state dict can:
//
//   architecture   decoder.blocks.* (unet), decoder.p5.* (fpn), decoder.aspp.* (deeplabv3plus)
//   encoder        encoder.layer1.0.conv3 (resnet50), encoder.layer3.5 (resnet34, else resnet18),
//                  encoder.features.18 (mobilenet_v2), encoder._blocks.* (efficientnet: 16 blocks
//                  b0; 23 blocks b1, or b2 whose head convolution has 1408 channels)
//   in, classes    the first convolution's input channels, segmentation_head.0's outputs
//   decoder        unet: each block's width, its depth, scSE; fpn: pyramid and segmentation
//                  widths, merge by the head's input (4 × segmentation: cat); deeplabv3plus: its
//                  width, and the depth whose deepest feature has the ASPP's input channels
//
// What no weight holds keeps SMP's default: DeepLabV3+'s output stride (16) and atrous rates
// (12, 24, 36), the decoders' dropout, EfficientNet's drop connect. seg_export --torch writes
// smp.create_model's keywords into the file's metadata ("smp"); where they are, they decide.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cuseg/layers/graph.h"
#include "cuseg/model/checkpoint.h"

namespace cuseg {

// The network of an SMP state dict (PyTorch's names and layouts); throws naming `source` and
// the key it looked for when the file is not one of the model zoo's networks.
ModelConfig smp_config_of_state(const std::map<std::string, Tensor>& state, const std::string& source);
// smp.create_model's keywords (torch_model_config's JSON) read back.
ModelConfig smp_config_of_keywords(const std::string& json, const std::string& source);

// The model of a file a tool or cuseg.load is given: a cuseg checkpoint (load_model), or an SMP
// state dict in safetensors — its network as above, its weights loaded strictly (load_torch_state_dict),
// moved to `device`, in evaluation mode. `info` of an SMP file: classes named "class_0" … (one
// output channel: "background", "foreground"),
// no palette, ImageNet's normalization for 3 input channels (what SMP's preprocessing applies for
// its encoders' ImageNet weights) and none for other counts.
std::unique_ptr<Graph> load_any_model(const std::string& path, Device device, ModelInfo* info = nullptr);
// The same for an SMP state dict already in memory (python's cuseg.load of a torch.save file):
// `metadata` may hold "smp".
std::unique_ptr<Graph> load_smp_state(const std::map<std::string, Tensor>& state,
                                      const std::map<std::string, std::string>& metadata,
                                      const std::string& source, Device device, ModelInfo* info = nullptr);

}  // namespace cuseg
