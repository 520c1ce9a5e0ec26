// seg_make_synthetic: writes the built-in synthetic dataset as a dataset folder —
// DIR/{train,val}/images/*.png, DIR/{train,val}/masks/*.png and DIR/classes.txt — the layout
// seg_train --data reads: a template for one's own data, and images to try seg_predict on.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/tool.h"
#include "cuseg/data/image_io.h"
#include "cuseg/data/synthetic.h"

namespace fs = std::filesystem;

namespace {

void write_split(const cuseg::SyntheticConfig& config, int64_t first, int64_t count, const fs::path& dir) {
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "masks");
  cuseg::Tensor images, labels;
  cuseg::synthetic_batch(config, first, count, images, labels);
  const int64_t h = config.height, w = config.width, c = config.channels;
  for (int64_t i = 0; i < count; ++i) {
    cuseg::Tensor image = cuseg::Tensor::empty(cuseg::Shape{h, w, c}, cuseg::DType::U8);
    const float* x = images.data<float>() + i * h * w * c;
    for (int64_t k = 0; k < h * w * c; ++k) image.data<uint8_t>()[k] = uint8_t(std::lround(x[k] * 255.0f));
    char name[32];
    std::snprintf(name, sizeof name, "%06lld.png", (long long)(first + i));
    cuseg::write_png((dir / "images" / name).string(), image);
    cuseg::write_png((dir / "masks" / name).string(), labels.view(cuseg::Shape{h, w}, i * h * w));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seg_make_synthetic: write the built-in synthetic dataset as a dataset folder", "seg_make_synthetic"};
  std::string out, size = "64";
  int64_t train = 64, val = 16;
  uint64_t seed = 0;
  app.add_option("--out", out, "Dataset folder to create")->required();
  app.add_option("--train", train, "Training images")->capture_default_str();
  app.add_option("--val", val, "Validation images")->capture_default_str();
  app.add_option("--size", size, "Image size: N or WxH")->capture_default_str();
  app.add_option("--seed", seed, "Seed")->capture_default_str();
  return cuseg::tool::run(app, argc, argv, [&] {
    cuseg::SyntheticConfig config;
    cuseg::tool::parse_size(size, config.height, config.width);
    config.seed = seed;
    if (train < 1 || val < 1) throw cuseg::tool::UsageError("--train and --val must be at least 1");
    write_split(config, 0, train, fs::path(out) / "train");
    write_split(config, cuseg::kSyntheticValFirst, val, fs::path(out) / "val");
    std::ofstream classes(fs::path(out) / "classes.txt");
    for (const std::string& name : cuseg::synthetic_class_names()) classes << name << "\n";
    CUSEG_CHECK(classes.good(), out, "/classes.txt: cannot write");
    std::printf("wrote %lld training and %lld validation images (%dx%d) to %s\n", (long long)train, (long long)val,
                config.width, config.height, out.c_str());
    return 0;
  });
}
