#include "cuseg/data/image_io.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace cuseg {

namespace {

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CUSEG_CHECK(in, path, ": cannot open: ", std::strerror(errno));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CUSEG_CHECK(!bytes.empty(), path, ": empty file");
  CUSEG_CHECK(bytes.size() < (size_t(1) << 31), path, ": file of 2 GiB or more");
  return bytes;
}

// A PNG's size is in its first chunk: read it before stb does, so that a header claiming an
// absurd size is reported as such (stb only says it cannot read the file).
void check_png_header(const std::string& path, const std::vector<unsigned char>& b) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 24 || std::memcmp(b.data(), signature, 8) != 0 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) return;
  auto be32 = [&](size_t at) { return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | b[at + 3]; };
  const uint64_t w = be32(16), h = be32(20);
  CUSEG_CHECK(w > 0 && h > 0 && w <= uint64_t(kMaxImageSide) && h <= uint64_t(kMaxImageSide) &&
                  w * h <= uint64_t(kMaxImagePixels),
              path, ": PNG header claims ", w, "x", h, " pixels, beyond the ", kMaxImageSide, "-pixel side limit");
}

// stb decodes a truncated BMP without complaint, padding with zeros: a file cut short would
// silently become an image (or a mask) that is partly black. Refuse it from the bytes. (stb
// itself refuses a PNG or a JPEG whose data runs short.)
void check_bmp_complete(const std::string& path, const std::vector<unsigned char>& b, const ImageInfo& info) {
  auto le = [&](size_t at, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + size_t(i)];
    return v;
  };
  if (b.size() >= 30 && b[0] == 'B' && b[1] == 'M') {
    const uint64_t offset = le(10, 4), header = le(14, 4);
    const uint64_t bpp = header == 12 ? le(24, 2) : le(28, 2);
    const uint64_t compression = header == 12 || b.size() < 34 ? 0 : le(30, 4);
    if (compression == 0 || compression == 3 || compression == 6) {  // uncompressed pixel rows
      const uint64_t w = uint64_t(info.width), h = uint64_t(info.height);
      const uint64_t stride = (w * bpp + 31) / 32 * 4, last_row = (w * bpp + 7) / 8;  // the last row's padding may be missing
      const uint64_t needed = offset + stride * (h - 1) + last_row;
      CUSEG_CHECK(b.size() >= needed, path, ": truncated BMP: ", info.width, "x", info.height, " at ", bpp,
                  " bits per pixel needs ", needed, " bytes, the file has ", b.size());
    }
  }
}

ImageInfo info_of(const std::string& path, const std::vector<unsigned char>& bytes) {
  check_png_header(path, bytes);
  ImageInfo info;
  if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &info.width, &info.height, &info.channels))
    throw_error(str_cat(path, ": not a readable PNG, JPEG or BMP image (", stbi_failure_reason(), ")"));
  CUSEG_CHECK(info.width > 0 && info.height > 0 && info.width <= kMaxImageSide && info.height <= kMaxImageSide &&
                  int64_t(info.width) * info.height <= kMaxImagePixels,
              path, ": image of ", info.width, "x", info.height, " is beyond the ", kMaxImageSide, "-pixel side limit");
  info.sixteen_bit = stbi_is_16_bit_from_memory(bytes.data(), int(bytes.size())) != 0;
  check_bmp_complete(path, bytes, info);
  return info;
}

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

}  // namespace

bool is_image_file(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

ImageInfo read_image_info(const std::string& path) { return info_of(path, read_file(path)); }

Tensor read_image(const std::string& path, int channels) {
  CUSEG_CHECK(channels == 1 || channels == 3 || channels == 4, path, ": cannot read into ", channels, " channels");
  const std::vector<unsigned char> bytes = read_file(path);
  const ImageInfo info = info_of(path, bytes);
  int w = 0, h = 0, stored = 0;
  // stb converts to the requested channel count: gray → RGB repeats, RGB → gray takes luminance,
  // RGBA → RGB drops alpha, and a missing alpha becomes opaque.
  Tensor out = Tensor::empty(Shape{info.height, info.width, channels});
  float* o = out.data<float>();
  const int64_t n = int64_t(info.height) * info.width * channels;
  if (info.sixteen_bit) {
    std::unique_ptr<stbi_us, StbFree> px(stbi_load_16_from_memory(bytes.data(), int(bytes.size()), &w, &h, &stored, channels));
    CUSEG_CHECK(px, path, ": corrupt or truncated image (", stbi_failure_reason(), ")");
    for (int64_t i = 0; i < n; ++i) o[i] = float(px.get()[i]) / 65535.f;
  } else {
    std::unique_ptr<stbi_uc, StbFree> px(stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &stored, channels));
    CUSEG_CHECK(px, path, ": corrupt or truncated image (", stbi_failure_reason(), ")");
    for (int64_t i = 0; i < n; ++i) o[i] = float(px.get()[i]) / 255.f;
  }
  CUSEG_CHECK(w == info.width && h == info.height, path, ": decoded size differs from the header");
  return out;
}

Tensor read_mask(const std::string& path, const Palette& palette) {
  const std::vector<unsigned char> bytes = read_file(path);
  const ImageInfo info = info_of(path, bytes);
  CUSEG_CHECK(!info.sixteen_bit, path, ": a mask must be 8-bit, this one is 16-bit");
  CUSEG_CHECK(!palette.empty() || info.channels == 1, path, ": a mask must hold one channel of class indices (it has ",
              info.channels, "); colour masks need a palette.txt");
  const int want = palette.empty() ? 1 : 3;
  int w = 0, h = 0, stored = 0;
  std::unique_ptr<stbi_uc, StbFree> px(stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &stored, want));
  CUSEG_CHECK(px, path, ": corrupt or truncated mask (", stbi_failure_reason(), ")");
  Tensor out = Tensor::empty(Shape{h, w}, DType::u8);
  uint8_t* o = out.data<uint8_t>();
  const int64_t n = int64_t(h) * w;
  if (palette.empty()) {
    std::memcpy(o, px.get(), size_t(n));
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* c = px.get() + 3 * i;
    int found = -1;
    for (size_t k = 0; k < palette.size() && found < 0; ++k)
      if (palette[k][0] == c[0] && palette[k][1] == c[1] && palette[k][2] == c[2]) found = int(k);
    CUSEG_CHECK(found >= 0, path, ": colour (", int(c[0]), ", ", int(c[1]), ", ", int(c[2]), ") at row ", i / w,
                ", column ", i % w, " is not in the palette");
    o[i] = uint8_t(found);
  }
  return out;
}

void write_png(const std::string& path, const Tensor& image) {
  CUSEG_CHECK(image.dtype() == DType::u8 && (image.rank() == 2 || (image.rank() == 3 && image.dim(2) >= 1 && image.dim(2) <= 4)),
              path, ": write_png takes [H, W] or [H, W, C≤4] u8, got ", image.str());
  const Tensor host = image.device().is_cpu() ? image : image.to(Device::cpu());
  const int h = int(image.dim(0)), w = int(image.dim(1)), c = image.rank() == 2 ? 1 : int(image.dim(2));
  CUSEG_CHECK(stbi_write_png(path.c_str(), w, h, c, host.raw_data(), w * c) != 0, path,
              ": cannot write PNG: ", std::strerror(errno));
}

}  // namespace cuseg
