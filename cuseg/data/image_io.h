// Reading and writing images through stb (Debian's stb headers, compiled into libcuseg with
// zero-filling allocators: cuseg/data/stb_impl.cpp): PNG, JPEG, BMP in, PNG out. Headers are read
// and checked before anything is decoded or allocated, so an absurd size in a damaged or hostile
// file is refused, not attempted; so is a file cut short (stb refuses a PNG or JPEG cut short; a
// BMP it would pad with black, so that one is checked here), and a JPEG whose scans use a Huffman
// or quantization table it never defines, or leave a component uncoded. Every error names the
// file and the problem.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cuseg/data/dataset.h"

namespace cuseg {

struct ImageInfo {
  int height = 0, width = 0;
  int channels = 0;     // as stored: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
  bool sixteen_bit = false;
};

// Largest image accepted: 16384 on a side and 2^28 pixels.
constexpr int kMaxImageSide = 16384;
constexpr int64_t kMaxImagePixels = int64_t(1) << 28;

ImageInfo read_image_info(const std::string& path);

// Whether the name ends in an image extension this reads: .png, .jpg, .jpeg, .bmp, any case.
bool is_image_file(const std::string& path);

// [H, W, channels] f32 in [0, 1]. channels: 1 (gray; colour to luminance), 3 (RGB; gray repeated,
// alpha dropped) or 4 (RGBA; alpha kept — RGB plus another modality). 8- and 16-bit files.
Tensor read_image(const std::string& path, int channels);

// A label mask [H, W] u8. Without a palette the file must hold one 8-bit channel of class
// indices. With a palette (one RGB colour per class) an RGB(A) file is mapped colour → class;
// a colour not in the palette is an error naming the pixel.
Tensor read_mask(const std::string& path, const Palette& palette = {});

// [H, W, C] u8 (C = 1, 3 or 4) or [H, W] u8 to a PNG file.
void write_png(const std::string& path, const Tensor& image);
// The same PNG, in memory.
std::vector<uint8_t> encode_png(const Tensor& image);

namespace detail {

// stb's decoders as compiled into libcuseg, on bytes, without any of cuseg's checks: for the fuzz
// targets and the valgrind test, which must reach stb itself, not only what cuseg lets through.
// Returns a digest of the outcome: stb's header answer, then its refusal reason or the decoded
// size and a hash of the pixels. Equal inputs must give equal digests; a digest that changes with
// the heap's earlier contents is a decoder reading memory it never wrote. Nothing is decoded above
// max_pixels (the header's answer only), and no single allocation of stb's may exceed what that
// many pixels need (stb then answers "outofmem").
std::string stb_decode_digest(const unsigned char* data, size_t size, int channels, bool sixteen_bit,
                              int64_t max_pixels);

// Whether stb, decoding these bytes, would look a pixel up past the palette it stored, in its
// uninitialized stack table (a palette BMP or PNG): the reason, or "" if not. cuseg's readers
// refuse such files; the fuzz targets do not hand them to stb unchecked.
std::string stb_stack_palette_overrun(const unsigned char* data, size_t size);

}  // namespace detail

}  // namespace cuseg
