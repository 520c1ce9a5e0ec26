// seg_export: a trained model out of cuseg — an ONNX model for ONNX Runtime, TensorRT and the
// rest (interop/onnx.h), evaluated as cuseg evaluates it.
//
//   seg_export --checkpoint runs/a/best.safetensors --onnx model.onnx [--head
//   logits|softmax|argmax]
#include <cstdio>

#include "apps/tool.h"
#include "cuseg/interop/onnx.h"
#include "cuseg/train/checkpoint.h"

int main(int argc, char** argv) {
  CLI::App app{"seg_export: write a trained model as ONNX", "seg_export"};
  std::string checkpoint, onnx, head = "logits";
  app.add_option("--checkpoint", checkpoint, "A checkpoint written by seg_train")->required();
  app.add_option("--onnx", onnx, "Write the model as ONNX (opset 17) to this file")->required();
  app.add_option("--head", head,
                 "What the ONNX model outputs: logits, softmax (probabilities) or argmax (classes)")
      ->check(CLI::IsMember({"logits", "softmax", "argmax"}))
      ->capture_default_str();
  return cuseg::tool::run(app, argc, argv, [&] {
    cuseg::ModelInfo info;
    auto model = cuseg::load_model(checkpoint, cuseg::Device::cpu(), &info);
    cuseg::export_onnx(onnx, *model, info, cuseg::parse_onnx_head(head));
    std::printf(
        "seg_export: %s → %s (opset 17, input image [N, %d, H, W], H and W multiples of %d)\n",
        checkpoint.c_str(), onnx.c_str(), info.config.in_channels, 1 << (info.config.depth - 1));
    return 0;
  });
}
