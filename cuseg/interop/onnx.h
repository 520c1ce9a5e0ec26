// ONNX export of a trained model (opset 17), written by our own protocol-buffer code
// (core/protobuf.h): no protobuf runtime in the library.
//
// The model reads "image", float32 [N, C, H, W] — N, H and W dynamic (H and W multiples of the
// network's 2^(depth−1), as for cuseg itself) — holding what cuseg's tools feed the network: 8-bit
// pixel values / 255, channels in file order (RGB). The normalization the model was trained with
// is part of the graph (Sub, Div), so nothing outside has to know it; the metadata states it
// anyway. Output: "logits" [N, K, H, W], or with a head "probabilities" (Softmax over K) or
// "classes" (ArgMax over K, int64 [N, H, W]).
//
// Layers map one to one: Conv2d → Conv (weights KRSC → OIHW), ConvTranspose2d → ConvTranspose
// ([Ci, R, S, Co] → [Ci, Co, R, S]), BatchNorm2d → BatchNormalization (running statistics, as in
// evaluation) [+ Relu], activations → Relu / LeakyRelu / Sigmoid / Tanh, pooling → MaxPool /
// AveragePool, Upsample → Resize (bilinear: linear, half_pixel, as PyTorch's align_corners=False;
// nearest: asymmetric, floor), Concat → Concat over channels, Dropout, Dropout2d and DropPath →
// Identity, GroupNorm → InstanceNormalization over [N, G, H·W·C/G] between two Reshapes, then
// Mul γ and Add β [+ Relu] (opset 17 has no GroupNormalization). A layer of any other kind is an error
// naming it.
//
// metadata_props: classes (JSON list), palette, normalization (mean, std), model (cuseg's
// description), input (training height, width, channels), ignore_index, input_contract (the
// paragraph above in one line).
#pragma once

#include <string>

#include "cuseg/layers/graph.h"
#include "cuseg/model/checkpoint.h"

namespace cuseg {

enum class OnnxHead { Logits, Probabilities, Classes };

OnnxHead parse_onnx_head(const std::string& name);  // "logits", "softmax", "argmax"

// The serialized ModelProto.
std::string onnx_model(Graph& model, const ModelInfo& info, OnnxHead head = OnnxHead::Logits);
// Writes it to `path` atomically.
void export_onnx(const std::string& path, Graph& model, const ModelInfo& info,
                 OnnxHead head = OnnxHead::Logits);

}  // namespace cuseg
