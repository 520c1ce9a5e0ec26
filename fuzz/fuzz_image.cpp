// Image and mask decoding: header checks, then decoding as RGB, gray, RGBA, and as a mask with and
// without a palette.
#include "cuseg/data/image_io.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = cuseg::fuzz::write_scratch("image", data, size);
  cuseg::ImageInfo info;
  try {
    info = cuseg::read_image_info(path);
  } catch (const cuseg::Error&) {
    return 0;
  }
  // Decoding (stb's) takes time in proportion to the pixels: what the header checks let through,
  // up to 2^28 pixels, would take minutes per input under the sanitizers. Above 2^22 pixels only
  // the header and completeness checks are fuzzed.
  if (int64_t(info.width) * info.height > (int64_t(1) << 22)) return 0;
  for (int channels : {1, 3, 4}) {
    try {
      cuseg::read_image(path, channels);
    } catch (const cuseg::Error&) {
    }
  }
  for (const cuseg::Palette& palette : {cuseg::Palette{}, cuseg::Palette{{0, 0, 0}, {255, 0, 0}, {0, 255, 0}}}) {
    try {
      cuseg::read_mask(path, palette);
    } catch (const cuseg::Error&) {
    }
  }
  return 0;
}
