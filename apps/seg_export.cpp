// seg_export: a trained model out of cuseg — as ONNX, for ONNX Runtime, TensorRT and the rest
// (interop/onnx.h), and as a PyTorch state dict (interop/torch_weights.h): of
// segmentation_models_pytorch's model for the model zoo's networks, of python/cuseg_torch_unet.py's
// UNet for unet-s.
//
//   seg_export --checkpoint runs/a/best.safetensors --onnx model.onnx [--head
//   logits|softmax|argmax] seg_export --checkpoint runs/a/best.safetensors --torch
//   state.safetensors
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/tool.h"
#include "cuseg/interop/onnx.h"
#include "cuseg/interop/smp_state.h"
#include "cuseg/interop/torch_weights.h"
#include "cuseg/model/checkpoint.h"

int main(int argc, char** argv) {
  CLI::App app{"seg_export: write a trained model as ONNX or as PyTorch weights", "seg_export"};
  std::string checkpoint, onnx, torch, head = "logits";
  app.add_option("--checkpoint", checkpoint, "A checkpoint written by seg_train, or a segmentation_models_pytorch state dict (safetensors)")->required();
  auto* onnx_opt =
      app.add_option("--onnx", onnx, "Write the model as ONNX (opset 17) to this file");
  auto* torch_opt = app.add_option(
      "--torch", torch,
      "Write its weights as a PyTorch state dict (safetensors): segmentation_models_pytorch's for the model "
      "zoo's networks, python/cuseg_torch_unet.py's for unet-s");
  app.add_option("--head", head, "What the ONNX model outputs: logits, softmax or argmax")
      ->check(CLI::IsMember({"logits", "softmax", "argmax"}))
      ->capture_default_str();
  app.callback([&] {
    if (onnx_opt->count() + torch_opt->count() == 0)
      throw CLI::RequiredError("--onnx or --torch (or both)");
  });
  return cuseg::tool::run(app, argc, argv, [&] {
    cuseg::ModelInfo info;
    auto model = cuseg::load_any_model(checkpoint, cuseg::Device::cpu(), &info);
    const int multiple = info.config.input_multiple();
    if (!onnx.empty()) {
      cuseg::export_onnx(onnx, *model, info, cuseg::parse_onnx_head(head));
      std::printf(
          "seg_export: %s → %s (ONNX opset 17, input image [N, %d, H, W], H and W multiples of "
          "%d)\n",
          checkpoint.c_str(), onnx.c_str(), info.config.in_channels, multiple);
    }
    if (!torch.empty()) {
      int64_t steps = 0;
      if (auto it = info.metadata.find("train_state"); it != info.metadata.end())
        steps = nlohmann::json::parse(it->second).value("steps", int64_t(0));
      cuseg::save_torch_state_dict(torch, *model, info, steps);
      std::printf("seg_export: %s → %s (PyTorch state dict of %s)\n", checkpoint.c_str(), torch.c_str(),
                  info.config.is_smp() ? "segmentation_models_pytorch's model: smp.create_model(**metadata['smp'])"
                                       : "python/cuseg_torch_unet.py's UNet");
    }
    return 0;
  });
}
