// PyTorch weights both ways: a cuseg model's parameters and batch-norm buffers as the state dict
// of the reference PyTorch U-Net (python/cuseg_torch/unet.py: the same module names, so
// enc0.conv1.weight is enc0.conv1.weight), in PyTorch's layouts — convolutions OIHW, transposed
// convolutions [Ci, Co, R, S] — plus each batch norm's num_batches_tracked (PyTorch's strict
// load_state_dict wants it; cuseg stores the optimizer's step count there). And back: such a
// state dict into a cuseg model, every tensor checked first.
#pragma once

#include <map>
#include <string>

#include "cuseg/layers/graph.h"
#include "cuseg/model/checkpoint.h"

namespace cuseg {

// The configuration of the PyTorch module that holds these weights, as JSON: for unet-s what
// python/cuseg_torch_unet.py's UNet takes (in_channels, classes, base, depth, batch_norm, upsample
// "transposed" or "bilinear", dropout); for a model zoo network segmentation_models_pytorch's
// smp.create_model keywords (arch "Unet", "FPN" or "DeepLabV3Plus", encoder_name, encoder_depth,
// encoder_weights null, in_channels, classes, and the decoder's own: decoder_channels and
// decoder_attention_type for Unet; decoder_pyramid_channels, decoder_segmentation_channels,
// decoder_merge_policy, decoder_dropout for FPN; encoder_output_stride, decoder_channels,
// decoder_atrous_rates, decoder_aspp_dropout for DeepLabV3Plus). EfficientNet's drop connect rate
// is not among them: SMP fixes it at 0.2.
std::string torch_model_config(const ModelConfig& config);

std::map<std::string, Tensor> torch_state_dict(Graph& model, int64_t num_batches_tracked = 0);
// A safetensors file of the state dict; its metadata: "unet" or "smp" (torch_model_config, for
// unet-s and for a model zoo network), "classes", "normalization", "format": "pt".
void save_torch_state_dict(const std::string& path, Graph& model, const ModelInfo& info,
                           int64_t num_batches_tracked = 0);

// Copies `state` into the model. Before anything is copied: a missing tensor, one the model does
// not have, or one of another shape is an error naming it (and, for shapes, both shapes, in
// PyTorch's layout), `source` (the file) first. num_batches_tracked is accepted and ignored.
void load_torch_state_dict(Graph& model, const std::map<std::string, Tensor>& state,
                           const std::string& source);
void load_torch_state_dict(Graph& model, const std::string& path);

// An encoder's ImageNet weights alone, as torchvision's state dict of the classification network
// holds them (resnet18/34/50: conv1.weight, bn1.*, layer1.0.conv1.weight, ..., fc.* ignored;
// mobilenet_v2: features.0.0.weight, ..., classifier.* ignored; efficientnet-b0/b1/b2 as
// efficientnet_pytorch's EfficientNet holds them: _conv_stem.weight, ..., _fc.* ignored), into
// a model zoo network's "encoder.*" parameters and buffers; the decoder and head keep theirs. Where
// the model's input channels C differ from the file's 3, segmentation_models_pytorch's rule for
// its first convolution: summed over the channels for C = 1, else channel i takes the file's
// channel i mod 3, all scaled by 3/C. Before anything is copied: a missing, an extra or a
// mis-shaped tensor is an error naming it (and both shapes), `source` first.
void load_encoder_weights(Graph& model, const ModelConfig& config, const std::map<std::string, Tensor>& state,
                          const std::string& source);
void load_encoder_weights(Graph& model, const ModelConfig& config, const std::string& path);

}  // namespace cuseg
