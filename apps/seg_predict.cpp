// seg_predict: a checkpoint and images (files or folders) → per image NAME_mask.png (class
// indices, 8-bit) and NAME_overlay.png (the image with the classes' colours blended in) in --out.
// Images of any size; --tile runs large ones as overlapping tiles, blended. Prints the latency
// per image and the throughput.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/tool.h"
#include "cuseg/data/image_io.h"
#include "cuseg/infer/predict.h"
#include "cuseg/interop/smp_state.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"seg_predict: segment images with a trained checkpoint", "seg_predict"};
  std::string checkpoint, out = "predictions", device = "auto";
  std::vector<std::string> inputs;
  cuseg::PredictConfig pc;
  pc.batch = 1;
  bool no_overlay = false;
  app.add_option("--checkpoint", checkpoint, "A checkpoint written by seg_train, or a segmentation_models_pytorch state dict (safetensors)")->required();
  app.add_option("inputs", inputs, "Images or folders of images")->required();
  app.add_option("--out", out, "Output folder")->capture_default_str();
  app.add_option("--tile", pc.tile, "Tile size for large images (0: whole images)")->capture_default_str();
  app.add_option("--overlap", pc.overlap, "Overlap of neighbouring tiles, in pixels")->capture_default_str();
  app.add_option("--batch", pc.batch, "Images (of one size) or tiles per forward")->capture_default_str();
  app.add_option("--device", device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cuseg::tool::ComputeOptions compute;
  cuseg::tool::add_compute_options(app, compute);
  app.add_flag("--no-overlay", no_overlay, "Write only the index masks");
  return cuseg::tool::run(app, argc, argv, [&] {
    if (pc.batch < 1) throw cuseg::tool::UsageError("--batch must be at least 1");
    const cuseg::Device dev = cuseg::Device::resolve(device);
    const cuseg::Backend backend = cuseg::tool::apply_compute_options(compute, dev);
    cuseg::ModelInfo info;
    auto model = cuseg::load_any_model(checkpoint, dev, &info);
    model->set_backend(backend);
    const cuseg::Palette colours = cuseg::class_colours(info);
    const std::vector<std::string> files = cuseg::tool::expand_images(inputs);
    fs::create_directories(out);

    std::vector<double> latencies;  // seconds per forward call, per image in it
    double total = 0;
    size_t done = 0;
    for (size_t first = 0; first < files.size();) {
      // A group: consecutive images of one size, up to --batch (one image when tiling).
      std::vector<cuseg::Tensor> images{cuseg::read_image(files[first], info.config.in_channels)};
      size_t next = first + 1;
      while (pc.tile == 0 && next < files.size() && images.size() < size_t(pc.batch)) {
        const cuseg::ImageInfo ii = cuseg::read_image_info(files[next]);
        if (ii.height != images[0].dim(0) || ii.width != images[0].dim(1)) break;
        images.push_back(cuseg::read_image(files[next], info.config.in_channels));
        ++next;
      }
      const int64_t h = images[0].dim(0), w = images[0].dim(1), c = images[0].dim(2), k = info.config.label_classes();
      const auto start = std::chrono::steady_clock::now();
      cuseg::Tensor probs;
      if (images.size() == 1) {
        probs = cuseg::predict_probabilities(*model, info, images[0], pc).view(cuseg::Shape{1, h, w, k});
      } else {
        cuseg::Tensor batch = cuseg::Tensor::empty(cuseg::Shape{int64_t(images.size()), h, w, c});
        for (size_t i = 0; i < images.size(); ++i)
          std::copy_n(images[i].data<float>(), h * w * c, batch.data<float>() + int64_t(i) * h * w * c);
        probs = cuseg::predict_batch(*model, info, batch);
      }
      const cuseg::Tensor classes = cuseg::argmax_classes(probs);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      total += seconds;
      for (size_t i = 0; i < images.size(); ++i) latencies.push_back(seconds / double(images.size()));

      for (size_t i = 0; i < images.size(); ++i) {
        const std::string stem = fs::path(files[first + i]).stem().string();
        const cuseg::Tensor mask = classes.view(cuseg::Shape{h, w}, int64_t(i) * h * w);
        cuseg::write_png((fs::path(out) / (stem + "_mask.png")).string(), mask);
        if (!no_overlay)
          cuseg::write_png((fs::path(out) / (stem + "_overlay.png")).string(), cuseg::overlay(images[i], mask, colours));
      }
      done += images.size();
      first = next;
    }
    std::vector<double> sorted = latencies;
    std::sort(sorted.begin(), sorted.end());
    std::printf("predicted %zu images on %s into %s\n", done, dev.str().c_str(), out.c_str());
    std::printf("latency per image: first %.2f ms, median %.2f ms; throughput %.1f images/s (batch %d%s)\n",
                latencies.front() * 1e3, sorted[sorted.size() / 2] * 1e3, double(done) / total, pc.batch,
                pc.tile ? ", tiled" : "");
    return 0;
  });
}
