// Writes the seed corpus of every fuzz target into OUT/<target>/: valid files of each kind
// cuseg reads, which the fuzzer then mutates.
#include <stb_image_write.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cuseg/core/safetensors.h"
#include "cuseg/data/image_io.h"
#include "cuseg/layers/unet.h"
#include "cuseg/model/checkpoint.h"

namespace fs = std::filesystem;
using namespace cuseg;

namespace {

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

Tensor pattern(int h, int w, int c) {
  std::vector<uint8_t> v(size_t(h * w * c));
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(i * 37 % 256);
  return Tensor::from_vector(v, Shape{h, w, c});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* t : {"fuzz_image", "fuzz_dataset_lists", "fuzz_safetensors", "fuzz_checkpoint"})
    fs::create_directories(out / t);

  const fs::path img = out / "fuzz_image";
  write_png((img / "gray.png").string(), pattern(5, 7, 1));
  write_png((img / "rgb.png").string(), pattern(4, 3, 3));
  write_png((img / "rgba.png").string(), pattern(3, 4, 4));
  write_png((img / "mask.png").string(), Tensor::full(Shape{4, 4}, 1, DType::U8));
  const Tensor rgb = pattern(8, 8, 3);
  stbi_write_jpg((img / "rgb.jpg").string().c_str(), 8, 8, 3, rgb.raw_data(), 90);
  stbi_write_bmp((img / "rgb.bmp").string().c_str(), 8, 8, 3, rgb.raw_data());

  const fs::path lists = out / "fuzz_dataset_lists";
  write_text(lists / "palette", std::string(1, '\0') + "0 0 0\n255 0 0\n");
  write_text(lists / "palette_crlf", std::string(1, '\0') + "0 0 0\r\n255 0 0\r\n0 255 0\r\n");
  write_text(lists / "classes", std::string(1, '\1') + "background\nred\n");

  const fs::path st = out / "fuzz_safetensors";
  save_safetensors((st / "dtypes.safetensors").string(),
                   {{"f32", Tensor::full(Shape{2, 3}, 1.5)}, {"f64", Tensor::full(Shape{2}, 2.0, DType::F64)},
                    {"i32", Tensor::full(Shape{1, 1, 2}, 7, DType::I32)}, {"u8", Tensor::full(Shape{3}, 9, DType::U8)},
                    {"bf16", Tensor::full(Shape{2, 2}, 0.5, DType::Bf16)}, {"scalar", Tensor::full(Shape{}, 3.0)}},
                   {{"key", "value"}});
  save_safetensors((st / "empty.safetensors").string(), {});

  ModelInfo info;
  info.config = ModelConfig::unet_s(1, 2, 1);
  info.config.depth = 2;
  info.class_names = {"background", "thing"};
  info.palette = {{0, 0, 0}, {255, 0, 0}};
  info.normalization.mean = {0.5};
  info.normalization.std = {0.25};
  info.height = info.width = 8;
  auto model = build_unet(info.config);
  save_checkpoint((out / "fuzz_checkpoint" / "tiny.safetensors").string(), *model, info.config, nullptr,
                  info.to_metadata());
  std::printf("seeds written to %s\n", out.string().c_str());
  return 0;
}
