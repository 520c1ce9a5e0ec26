#include "cuseg/data/image_io.h"

#include <stb_image.h>  // compiled into libcuseg, its symbols hidden (stb_impl.cpp)
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

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

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

// Every PNG chunk before IEND must fit in the file. stb grows its buffer to an IDAT chunk's
// claimed length before it finds the data missing (a 138-byte file claiming 1 GB, found by
// fuzz_image); it then refuses the file, as it refuses any chunk that runs past the end. Refuse
// it from the bytes, naming the chunk, before anything is allocated.
void check_png_chunks(const std::string& path, const std::vector<unsigned char>& b) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 8 || std::memcmp(b.data(), signature, 8) != 0) return;
  for (size_t i = 8; i + 8 <= b.size();) {
    const uint64_t length = (uint64_t(b[i]) << 24) | (uint64_t(b[i + 1]) << 16) | (uint64_t(b[i + 2]) << 8) | b[i + 3];
    const std::string type(reinterpret_cast<const char*>(b.data() + i + 4), 4);
    if (type == "IEND") return;  // stb stops here, whatever length it claims
    const uint64_t left = b.size() - i - 8;  // after the length and the type
    CUSEG_CHECK(length + 4 <= left, path, ": corrupt or truncated PNG: chunk ", type, " at byte ", i, " claims ", length,
                " bytes of data, the file has ", left < 4 ? 0 : left - 4, " before its checksum");
    i += 12 + size_t(length);
  }
}

// stb expands a palette PNG through a colour table on its stack, filled from the PLTE chunk and
// indexed by every pixel unchecked: a pixel whose index is past the stored palette takes its
// colour from stale stack contents (found by fuzz_image's dirtied-stack reads). The indices are
// only known once the image data is inflated and unfiltered, so for palette PNGs (and only for
// them) this does that first, with stb's own inflate, and refuses a file with such a pixel.
void check_png_palette(const std::string& path, const std::vector<unsigned char>& b) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 33 || std::memcmp(b.data(), signature, 8) != 0 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) return;
  auto be32 = [&](size_t at) { return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | b[at + 3]; };
  const uint32_t w = be32(16), h = be32(20);
  const int depth = b[24], colour = b[25], interlace = b[28];
  if (colour != 3 || (depth != 1 && depth != 2 && depth != 4 && depth != 8) || interlace > 1) return;
  if (w == 0 || h == 0 || w > (1u << 24) || h > (1u << 24)) return;  // stb refuses it (cuseg's header check first)
  std::vector<char> idat;
  size_t entries = 0;
  bool have_palette = false;
  for (size_t i = 8; i + 12 <= b.size();) {
    const size_t length = be32(i);
    const unsigned char* type = b.data() + i + 4;
    if (std::memcmp(type, "IEND", 4) == 0) break;  // stb stops here, whatever length it claims
    if (length > b.size() - i - 12) return;  // stb refuses it (check_png_chunks, for cuseg's readers)
    if (std::memcmp(type, "PLTE", 4) == 0) {
      entries = length / 3;
      have_palette = true;
    } else if (std::memcmp(type, "IDAT", 4) == 0) {
      idat.insert(idat.end(), b.data() + i + 8, b.data() + i + 8 + length);
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      break;
    }
    i += 12 + length;
  }
  if (!have_palette || idat.empty() || idat.size() > (size_t(1) << 30)) return;  // stb refuses these
  int raw_size = 0;
  const size_t row_max = (size_t(w) * size_t(depth) + 7) / 8 + 1;
  std::unique_ptr<char, StbFree> raw(stbi_zlib_decode_malloc_guesssize_headerflag(
      idat.data(), int(idat.size()), int(std::min<size_t>(row_max * h, size_t(1) << 20)), &raw_size, 1));
  if (!raw) return;  // stb refuses it
  const auto* r = reinterpret_cast<const unsigned char*>(raw.get());
  size_t at = 0;
  static const int passes[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  for (int pass = 0; pass < (interlace ? 7 : 1); ++pass) {
    const int x0 = interlace ? passes[pass][0] : 0, y0 = interlace ? passes[pass][1] : 0;
    const int dx = interlace ? passes[pass][2] : 1, dy = interlace ? passes[pass][3] : 1;
    const uint64_t pw = w > uint32_t(x0) ? (w - x0 + dx - 1) / dx : 0, ph = h > uint32_t(y0) ? (h - y0 + dy - 1) / dy : 0;
    if (pw == 0 || ph == 0) continue;
    const size_t row_bytes = (size_t(pw) * size_t(depth) + 7) / 8;
    std::vector<unsigned char> prior(row_bytes, 0), row(row_bytes);
    for (uint64_t y = 0; y < ph; ++y) {
      if (at + 1 + row_bytes > size_t(raw_size)) return;  // stb: not enough pixels
      const int filter = r[at++];
      if (filter > 4) return;  // stb: invalid filter
      for (size_t x = 0; x < row_bytes; ++x) {  // unfilter, one byte per pixel unit (depth <= 8)
        const int a = x ? row[x - 1] : 0, up = prior[x], c = x ? prior[x - 1] : 0;
        int pred = 0;
        if (filter == 1) pred = a;
        else if (filter == 2) pred = up;
        else if (filter == 3) pred = (a + up) / 2;
        else if (filter == 4) {
          const int p = a + up - c, pa = std::abs(p - a), pb = std::abs(p - up), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
        }
        row[x] = (unsigned char)(r[at + x] + pred);
      }
      at += row_bytes;
      for (uint64_t x = 0; x < pw; ++x) {
        const size_t bit = size_t(x) * size_t(depth);
        const size_t index = (row[bit / 8] >> (8 - depth - bit % 8)) & ((1u << depth) - 1);
        CUSEG_CHECK(index < entries, path, ": corrupt PNG: the pixel in row ", y0 + y * dy, ", column ", x0 + x * dx,
                    " uses palette entry ", index, ", the PLTE chunk has ", entries, " entries");
      }
      prior.swap(row);
    }
  }
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
    // stb reads the field as a signed int: a negative one is uncompressed to it, like 0.
    const int32_t compression = header == 12 || b.size() < 34 ? 0 : int32_t(uint32_t(le(30, 4)));
    if (compression <= 0 || compression == 3 || compression == 6) {  // uncompressed pixel rows
      const uint64_t w = uint64_t(info.width), h = uint64_t(info.height);
      const uint64_t stride = (w * bpp + 31) / 32 * 4, last_row = (w * bpp + 7) / 8;  // the last row's padding may be missing
      const uint64_t needed = offset + stride * (h - 1) + last_row;
      CUSEG_CHECK(b.size() >= needed, path, ": truncated BMP: ", info.width, "x", info.height, " at ", bpp,
                  " bits per pixel needs ", needed, " bytes, the file has ", b.size());
    }
  }
}

// stb reads a palette BMP's colours into an uninitialized array on its stack, as many as fit
// between the header and the pixels, and looks every pixel's index up in it unchecked: an index
// past the stored palette takes its colour from stale stack contents (found by fuzz_image's
// dirtied-stack reads; zero-filling the heap cannot reach it). Refuse such a file from the bytes,
// counting the palette as stb does. (Runs after check_bmp_complete: the pixel rows are there.)
void check_bmp_palette(const std::string& path, const std::vector<unsigned char>& b, const ImageInfo& info) {
  auto le = [&](size_t at, int n) {  // past the end stb reads zeros: so does this
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | (at + size_t(i) < b.size() ? b[at + size_t(i)] : 0);
    return v;
  };
  if (b.size() < 2 || b[0] != 'B' || b[1] != 'M') return;
  const int64_t offset = int64_t(le(10, 4)), header = int64_t(le(14, 4));
  if (header != 12 && header != 40 && header != 56 && header != 108 && header != 124) return;  // stb refuses it
  const uint64_t bpp = header == 12 ? le(24, 2) : le(28, 2);
  if ((bpp != 1 && bpp != 4 && bpp != 8) || (header != 12 && int32_t(uint32_t(le(30, 4))) > 0)) return;  // as stb: <= 0 is uncompressed
  const int64_t entries = header == 12 ? (offset - 14 - 24) / 3 : (offset - 14 - header) >> 2;  // as stb counts
  if (entries == 0 || entries > 256 || offset < 0) return;  // stb refuses it
  CUSEG_CHECK(entries > 0, path, ": corrupt BMP: a ", bpp, "-bit palette image whose pixel data offset (", offset,
              ") leaves no room for a palette");
  const uint64_t w = uint64_t(info.width), row_bytes = (w * bpp + 7) / 8, stride = (row_bytes + 3) / 4 * 4;
  for (int y = 0; y < info.height; ++y) {
    const size_t row = size_t(offset) + size_t(y) * stride;
    for (uint64_t x = 0; x < w; ++x) {
      if (row + (x * bpp) / 8 >= b.size()) return;  // the last row's padding may be missing
      const unsigned byte = b[row + (x * bpp) / 8];
      const int64_t index = bpp == 8 ? byte : bpp == 4 ? (x % 2 ? byte & 15 : byte >> 4) : (byte >> (7 - x % 8)) & 1;
      CUSEG_CHECK(index < entries, path, ": corrupt BMP: the pixel in stored row ", y, ", column ", x, " uses palette entry ",
                  index, ", the palette has ", entries, " entries");
    }
  }
}

// stb decodes a JPEG scan with whatever its Huffman and quantization table slots hold. A scan
// that uses a table no DHT or DQT segment defined before it would be decoded from memory stb
// never wrote (zero-filled in cuseg, stale heap contents in a stock stb): refuse such a file,
// and one whose frame has a component no scan codes (its pixels would be whatever the
// component's buffer held). The walk follows stb's own: markers after optional 0xFF fill bytes,
// padding skipped before the frame header, entropy-coded data up to the next marker other than
// RSTn. Anything it does not understand is left to stb, which refuses it.
void check_jpeg_tables(const std::string& path, const std::vector<unsigned char>& b) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return;
  auto be16 = [&](size_t at) { return (size_t(b[at]) << 8) | b[at + 1]; };
  bool dc[4] = {}, ac[4] = {}, quant[4] = {};
  struct Component {
    int id, tq;
    bool scanned;
  };
  std::vector<Component> frame;
  bool progressive = false, end = false;
  size_t i = 2;
  while (i < b.size()) {
    if (b[i] != 0xFF) {
      if (!frame.empty()) return;  // stb: "expected marker"
      ++i;                         // stb skips padding between segments before the frame header
      continue;
    }
    while (i < b.size() && b[i] == 0xFF) ++i;  // fill bytes
    if (i >= b.size()) return;
    const unsigned char m = b[i++];
    if (m == 0xD9) {  // EOI
      end = true;
      break;
    }
    if (i + 2 > b.size()) return;
    const size_t len = be16(i);
    if (len < 2 || i + len > b.size()) return;
    const unsigned char* s = b.data() + i + 2;
    const size_t n = len - 2;
    if (m == 0xDB) {  // DQT: (precision << 4 | table), 64 values of 8 or 16 bits
      for (size_t k = 0; k < n;) {
        const int pq = s[k] >> 4, tq = s[k] & 15;
        if (pq > 1 || tq > 3) return;
        quant[tq] = true;
        k += 1 + (pq ? 128 : 64);
      }
    } else if (m == 0xC4) {  // DHT: (class << 4 | table), 16 counts, the symbols
      for (size_t k = 0; k + 17 <= n;) {
        const int tc = s[k] >> 4, th = s[k] & 15;
        if (tc > 1 || th > 3) return;
        size_t symbols = 0;
        for (int c = 1; c <= 16; ++c) symbols += s[k + size_t(c)];
        if (k + 17 + symbols > n) return;
        (tc == 0 ? dc : ac)[th] = true;
        k += 17 + symbols;
      }
    } else if (m == 0xC0 || m == 0xC1 || m == 0xC2) {  // the frame: baseline, extended, progressive
      if (!frame.empty() || n < 6) return;
      progressive = m == 0xC2;
      const size_t count = s[5];
      if (count == 0 || n < 6 + 3 * count) return;
      for (size_t c = 0; c < count; ++c) frame.push_back({s[6 + 3 * c], s[8 + 3 * c], false});
    } else if (m == 0xDA) {  // a scan: its components with their DC and AC tables, then the data
      if (frame.empty() || n < 1) return;
      const size_t count = s[0];
      if (count == 0 || n != 4 + 2 * count) return;
      const int ss = s[1 + 2 * count], ah = s[3 + 2 * count] >> 4;
      // Baseline scans use both tables; progressive DC first scans the DC table, DC refinement
      // none, AC scans the AC table (as stb decodes them).
      const bool uses_dc = !progressive || (ss == 0 && ah == 0), uses_ac = !progressive || ss > 0;
      for (size_t c = 0; c < count; ++c) {
        const int id = s[1 + 2 * c], td = s[2 + 2 * c] >> 4, ta = s[2 + 2 * c] & 15;
        auto it = std::find_if(frame.begin(), frame.end(), [&](const Component& f) { return f.id == id; });
        if (it == frame.end() || td > 3 || ta > 3 || it->tq > 3) return;
        CUSEG_CHECK(!uses_dc || dc[td], path, ": corrupt JPEG: a scan of component ", id, " uses DC Huffman table ", td,
                    ", which no DHT segment before it defines");
        CUSEG_CHECK(!uses_ac || ac[ta], path, ": corrupt JPEG: a scan of component ", id, " uses AC Huffman table ", ta,
                    ", which no DHT segment before it defines");
        CUSEG_CHECK(it->scanned || quant[it->tq], path, ": corrupt JPEG: component ", id, " uses quantization table ",
                    it->tq, ", which no DQT segment before its first scan defines");
        it->scanned = true;
      }
      i += len;
      // Entropy-coded data: up to a 0xFF that is neither a stuffed 0xFF00 nor a restart marker.
      while (i + 1 < b.size() && !(b[i] == 0xFF && b[i + 1] != 0x00 && b[i + 1] != 0xFF && (b[i + 1] < 0xD0 || b[i + 1] > 0xD7)))
        ++i;
      if (i + 1 >= b.size()) return;  // no EOI: stb refuses a JPEG cut short
      continue;
    } else if (!((m >= 0xE0 && m <= 0xEF) || m == 0xFE || m == 0xDD || m == 0xDC)) {
      return;  // not a segment stb reads: it refuses the file itself
    }
    i += len;
  }
  if (!end) return;  // stb refuses a JPEG without its end
  for (const Component& c : frame)
    CUSEG_CHECK(c.scanned, path, ": corrupt JPEG: component ", c.id, " of the frame is in no scan");
}

ImageInfo info_of(const std::string& path, const std::vector<unsigned char>& bytes) {
  check_png_header(path, bytes);
  check_png_chunks(path, bytes);
  ImageInfo info;
  if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &info.width, &info.height, &info.channels))
    throw_error(str_cat(path, ": not a readable PNG, JPEG or BMP image (", stbi_failure_reason(), ")"));
  // A BMP stored top-down has a negative height, which stb's header reader passes on as it is (its
  // decoder takes the absolute value).
  if (bytes[0] == 'B' && bytes[1] == 'M' && info.height < 0 && info.height > -kMaxImageSide - 1) info.height = -info.height;
  CUSEG_CHECK(info.width > 0 && info.height > 0 && info.width <= kMaxImageSide && info.height <= kMaxImageSide &&
                  int64_t(info.width) * info.height <= kMaxImagePixels,
              path, ": image of ", info.width, "x", info.height, " is beyond the ", kMaxImageSide, "-pixel side limit");
  info.sixteen_bit = stbi_is_16_bit_from_memory(bytes.data(), int(bytes.size())) != 0;
  check_bmp_complete(path, bytes, info);
  check_bmp_palette(path, bytes, info);
  check_png_palette(path, bytes);
  check_jpeg_tables(path, bytes);
  return info;
}

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
  Tensor out = Tensor::empty(Shape{h, w}, DType::U8);
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

namespace {

void check_png_image(const std::string& what, const Tensor& image) {
  CUSEG_CHECK(image.dtype() == DType::U8 && (image.rank() == 2 || (image.rank() == 3 && image.dim(2) >= 1 && image.dim(2) <= 4)),
              what, ": PNG images are [H, W] or [H, W, C≤4] u8, got ", image.str());
}

}  // namespace

void write_png(const std::string& path, const Tensor& image) {
  check_png_image(path, image);
  const Tensor host = image.device().is_cpu() ? image : image.to(Device::cpu());
  const int h = int(image.dim(0)), w = int(image.dim(1)), c = image.rank() == 2 ? 1 : int(image.dim(2));
  CUSEG_CHECK(stbi_write_png(path.c_str(), w, h, c, host.raw_data(), w * c) != 0, path,
              ": cannot write PNG: ", std::strerror(errno));
}

std::vector<uint8_t> encode_png(const Tensor& image) {
  check_png_image("encode_png", image);
  const Tensor host = image.device().is_cpu() ? image : image.to(Device::cpu());
  const int h = int(image.dim(0)), w = int(image.dim(1)), c = image.rank() == 2 ? 1 : int(image.dim(2));
  std::vector<uint8_t> png;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  CUSEG_CHECK(stbi_write_png_to_func(append, &png, w, h, c, host.raw_data(), w * c) != 0, "encode_png: stb failed on ",
              image.str());
  return png;
}

namespace detail {

extern thread_local size_t stb_allocation_cap;  // stb_impl.cpp

std::string stb_stack_palette_overrun(const unsigned char* data, size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  ImageInfo info;
  try {
    if (size >= 2 && data[0] == 'B' && data[1] == 'M' &&
        stbi_info_from_memory(data, int(std::min<size_t>(size, INT32_MAX)), &info.width, &info.height, &info.channels)) {
      // stb's limits here, not cuseg's: stb decodes up to 2^24 on a side.
      if (info.height < 0 && info.height > -(1 << 24) - 1) info.height = -info.height;
      if (info.width > 0 && info.height > 0 && info.width <= (1 << 24) && info.height <= (1 << 24))
        check_bmp_palette("input", bytes, info);
    }
    check_png_palette("input", bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string stb_decode_digest(const unsigned char* data, size_t size, int channels, bool sixteen_bit, int64_t max_pixels) {
  if (size == 0 || size >= (size_t(1) << 31)) return "not decoded: size";
  // No single allocation beyond what max_pixels could need (16-bit RGBA and PNG's filter bytes,
  // twice over) or twice the file (PNG's compressed data).
  struct Cap {
    explicit Cap(size_t bytes) { stb_allocation_cap = bytes; }
    ~Cap() { stb_allocation_cap = SIZE_MAX; }
  } cap(size_t(max_pixels) * 16 + 2 * size + (size_t(1) << 20));
  const int len = int(size);
  int w = 0, h = 0, stored = 0;
  std::string out = "info ";
  if (!stbi_info_from_memory(data, len, &w, &h, &stored)) return out + "refused: " + stbi_failure_reason();
  out += str_cat(w, "x", h, "x", stored, " 16-bit ", stbi_is_16_bit_from_memory(data, len), "; ");
  if (w <= 0 || h <= 0 || int64_t(w) * h > max_pixels) return out + "not decoded: pixels";
  int dw = 0, dh = 0;
  void* px = sixteen_bit ? static_cast<void*>(stbi_load_16_from_memory(data, len, &dw, &dh, &stored, channels))
                         : static_cast<void*>(stbi_load_from_memory(data, len, &dw, &dh, &stored, channels));
  if (!px) return out + "load refused: " + stbi_failure_reason();
  // FNV-1a over the pixels, 8 bytes at a time: equal outcomes, equal digests.
  uint64_t hash = 1469598103934665603ull;
  const size_t bytes = size_t(dw) * size_t(dh) * size_t(channels) * (sixteen_bit ? 2 : 1);
  const auto* p = static_cast<const unsigned char*>(px);
  size_t k = 0;
  for (uint64_t word; k + 8 <= bytes; k += 8) {
    std::memcpy(&word, p + k, 8);
    hash = (hash ^ word) * 1099511628211ull;
  }
  for (; k < bytes; ++k) hash = (hash ^ p[k]) * 1099511628211ull;
  stbi_image_free(px);
  return out + str_cat("load ", dw, "x", dh, "x", stored, " pixels ", hash);
}

}  // namespace detail

}  // namespace cuseg
