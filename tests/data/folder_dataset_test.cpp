// Image decoding and the folder dataset, on small files written here: formats and channel
// conversions, then every kind of bad input the loader must name — missing, corrupt, truncated,
// absurdly large, unpaired, mismatched, out-of-range — and skip_bad's counting.
#include "cuseg/data/folder_dataset.h"

#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

class DataFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_test_dir("cuseg_data");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // An RGB image whose pixel (y, x) is (10y, 20x, 7) and a mask with class (x + y) % classes.
  void write_sample(const std::string& split, const std::string& name, int h, int w, int classes, int mask_h = -1) {
    fs::create_directories(dir_ / split / "images");
    fs::create_directories(dir_ / split / "masks");
    std::vector<uint8_t> rgb(size_t(h * w * 3));
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        rgb[size_t((y * w + x) * 3)] = uint8_t(10 * y);
        rgb[size_t((y * w + x) * 3 + 1)] = uint8_t(20 * x);
        rgb[size_t((y * w + x) * 3 + 2)] = 7;
      }
    write_png((dir_ / split / "images" / (name + ".png")).string(), Tensor::from_vector(rgb, Shape{h, w, 3}));
    const int mh = mask_h < 0 ? h : mask_h;
    std::vector<uint8_t> mask(size_t(mh * w));
    for (int y = 0; y < mh; ++y)
      for (int x = 0; x < w; ++x) mask[size_t(y * w + x)] = uint8_t((x + y) % classes);
    write_png((dir_ / split / "masks" / (name + ".png")).string(), Tensor::from_vector(mask, Shape{mh, w}));
  }

  fs::path dir_;
};

TEST_F(DataFiles, ReadsFormatsAndConvertsChannels) {
  const std::vector<uint8_t> rgba = {255, 0, 0, 128, 0, 255, 0, 255};  // 1×2 RGBA
  write_png(path("a.png"), Tensor::from_vector(rgba, Shape{1, 2, 4}));
  const std::vector<float> as_rgb = read_image(path("a.png"), 3).to_vector<float>();
  EXPECT_EQ(as_rgb, (std::vector<float>{1, 0, 0, 0, 1, 0}));  // alpha dropped
  EXPECT_FLOAT_EQ(read_image(path("a.png"), 4).to_vector<float>()[3], 128.f / 255);  // alpha kept
  const std::vector<uint8_t> gray = {0, 51, 255};
  write_png(path("g.png"), Tensor::from_vector(gray, Shape{1, 3}));
  EXPECT_EQ(read_image(path("g.png"), 3).to_vector<float>()[3], 0.2f);  // gray repeated into RGB
  const ImageInfo info = read_image_info(path("g.png"));
  EXPECT_EQ(info.width, 3);
  EXPECT_EQ(info.channels, 1);
  std::vector<uint8_t> rgb(4 * 4 * 3, 200);
  ASSERT_TRUE(stbi_write_bmp(path("b.bmp").c_str(), 4, 4, 3, rgb.data()));
  ASSERT_TRUE(stbi_write_jpg(path("c.jpg").c_str(), 4, 4, 3, rgb.data(), 95));
  EXPECT_NEAR(read_image(path("b.bmp"), 3).to_vector<float>()[0], 200.f / 255, 1e-6);
  EXPECT_NEAR(read_image(path("c.jpg"), 3).to_vector<float>()[0], 200.f / 255, 0.03);
}

TEST_F(DataFiles, RefusesDamagedFilesNamingThem) {
  expect_error([&] { read_image(path("missing.png"), 3); }, {"missing.png", "cannot open"});
  { std::ofstream(path("junk.png")) << "definitely not an image"; }
  expect_error([&] { read_image(path("junk.png"), 3); }, {"junk.png", "not a readable"});
  std::vector<uint8_t> rgb(32 * 32 * 3, 90);
  write_png(path("ok.png"), Tensor::from_vector(rgb, Shape{32, 32, 3}));
  const std::string bytes = test::read_file(path("ok.png"));
  test::write_file(path("cut.png"), bytes.substr(0, bytes.size() / 2));
  expect_error([&] { read_image(path("cut.png"), 3); }, {"cut.png", "corrupt or truncated"});
  // A PNG header claiming 100000×100000 pixels: refused from the header, nothing decoded.
  std::string huge = bytes.substr(0, 33);
  const unsigned char side[4] = {0x00, 0x01, 0x86, 0xA0};  // 100000, big-endian
  huge.replace(16, 4, reinterpret_cast<const char*>(side), 4);
  huge.replace(20, 4, reinterpret_cast<const char*>(side), 4);
  test::write_file(path("huge.png"), huge);
  expect_error([&] { read_image(path("huge.png"), 3); }, {"huge.png", "100000x100000"});
  // An IDAT chunk claiming 1 GB in a small file: refused from the bytes, naming the chunk (stb
  // would grow its buffer to the claim first). The fuzzer's find, then one made here.
  const std::string claims = std::string(CUSEG_FUZZ_DIR) + "/regressions/fuzz_image/timeout-png-idat-claims-1GB-zero-filled-realloc-a";
  expect_error([&] { read_image(claims, 3); }, {"realloc-a", "corrupt or truncated PNG", "chunk IDAT", "claims 1023410374 bytes"});
  std::string liar = bytes;
  const size_t idat = liar.find("IDAT") - 4;
  const unsigned char gigabyte[4] = {0x40, 0x00, 0x00, 0x00};
  liar.replace(idat, 4, reinterpret_cast<const char*>(gigabyte), 4);
  test::write_file(path("liar.png"), liar);
  expect_error([&] { read_mask(path("liar.png")); }, {"liar.png", "chunk IDAT", "claims 1073741824 bytes"});
  expect_error([&] { read_mask(path("ok.png")); }, {"ok.png", "one channel of class indices"});
}

// A file cut short is refused, never decoded into an image padded with black (stb would do that
// with a BMP; it refuses a JPEG itself).
TEST_F(DataFiles, RefusesTruncatedBmpAndJpeg) {
  std::vector<uint8_t> rgb(64 * 48 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 7);
  ASSERT_TRUE(stbi_write_bmp(path("whole.bmp").c_str(), 64, 48, 3, rgb.data()));
  ASSERT_TRUE(stbi_write_jpg(path("whole.jpg").c_str(), 64, 48, 3, rgb.data(), 90));
  for (const char* name : {"whole.bmp", "whole.jpg"}) {
    const std::string bytes = test::read_file(path(name));
    EXPECT_NO_THROW(read_image(path(name), 3)) << name;
    const std::string cut = std::string("cut_") + name;
    test::write_file(path(cut), bytes.substr(0, bytes.size() * 2 / 3));
    expect_error([&] { read_image(path(cut), 3); }, {cut.c_str(), "truncated"});
    expect_error([&] { read_mask(path(cut), Palette{{0, 0, 0}}); }, {cut.c_str(), "truncated"});
  }
  // The header's size is checked against the file before anything is allocated: a 70-byte BMP
  // claiming 11528x16136 (the fuzzer's find, 186 M pixels) is refused at once.
  std::string tiny = test::read_file(path("whole.bmp"));
  tiny.resize(70);
  const unsigned char w[4] = {0x08, 0x2d, 0, 0}, h[4] = {0x08, 0x3f, 0, 0};  // little-endian
  tiny.replace(18, 4, reinterpret_cast<const char*>(w), 4);
  tiny.replace(22, 4, reinterpret_cast<const char*>(h), 4);
  test::write_file(path("bomb.bmp"), tiny);
  expect_error([&] { read_image_info(path("bomb.bmp")); }, {"bomb.bmp", "11528x16136", "truncated BMP"});
}

// The offset of the first segment with this marker in a JPEG (at its 0xFF), or npos.
size_t find_segment(const std::string& jpg, unsigned char marker) {
  for (size_t i = 2; i + 4 <= jpg.size();) {
    if (uint8_t(jpg[i]) != 0xFF) return std::string::npos;
    if (uint8_t(jpg[i + 1]) == marker) return i;
    if (uint8_t(jpg[i + 1]) == 0xDA) return std::string::npos;  // the scan's data follows
    i += 2 + ((size_t(uint8_t(jpg[i + 2])) << 8) | uint8_t(jpg[i + 3]));
  }
  return std::string::npos;
}

// A JPEG whose scan uses a Huffman or quantization table it never defines would be decoded from
// memory stb never wrote; one whose frame has a component no scan codes would get that
// component's pixels the same way. Each is refused from the bytes, naming the file, before stb
// decodes anything; the valid variants (progressive, optimized tables, subsampled, CMYK, gray)
// are not.
TEST_F(DataFiles, RefusesJpegsUsingTablesTheyNeverDefine) {
  std::vector<uint8_t> rgb(16 * 16 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 13);
  ASSERT_TRUE(stbi_write_jpg(path("good.jpg").c_str(), 16, 16, 3, rgb.data(), 90));
  const std::string good = test::read_file(path("good.jpg"));
  EXPECT_NO_THROW(read_image(path("good.jpg"), 3));

  // stb_image_write's DHT segment holds DC0, AC0, DC1, AC1: relabel AC0 as a second AC1.
  std::string no_ac0 = good;
  const size_t dht = find_segment(good, 0xC4);
  ASSERT_NE(dht, std::string::npos);
  size_t t = dht + 4;
  bool relabelled = false;
  for (int k = 0; k < 4 && !relabelled; ++k) {
    size_t symbols = 0;
    for (int c = 1; c <= 16; ++c) symbols += uint8_t(good[t + size_t(c)]);
    if (uint8_t(good[t]) == 0x10) {
      no_ac0[t] = char(0x11);
      relabelled = true;
    }
    t += 17 + symbols;
  }
  ASSERT_TRUE(relabelled);
  test::write_file(path("no_ac0.jpg"), no_ac0);
  expect_error([&] { read_image(path("no_ac0.jpg"), 3); }, {"no_ac0.jpg", "AC Huffman table 0", "no DHT segment"});
  expect_error([&] { read_mask(path("no_ac0.jpg"), Palette{{0, 0, 0}}); }, {"no_ac0.jpg", "AC Huffman table 0"});

  // The luma component's quantization table 0 → 2, which no DQT defines.
  std::string no_dqt = good;
  const size_t sof = find_segment(good, 0xC0);
  ASSERT_NE(sof, std::string::npos);
  ASSERT_EQ(uint8_t(good[sof + 9]), 3);  // components
  no_dqt[sof + 12] = char(2);            // component 1: id, sampling, table
  test::write_file(path("no_dqt.jpg"), no_dqt);
  expect_error([&] { read_image(path("no_dqt.jpg"), 3); }, {"no_dqt.jpg", "quantization table 2", "no DQT segment"});

  // The scan names component 2 twice and component 3 never.
  std::string uncoded = good;
  const size_t sos = find_segment(good, 0xDA);
  ASSERT_NE(sos, std::string::npos);
  ASSERT_EQ(uint8_t(good[sos + 4]), 3);
  uncoded[sos + 9] = good[sos + 7];
  test::write_file(path("uncoded.jpg"), uncoded);
  expect_error([&] { read_image(path("uncoded.jpg"), 3); }, {"uncoded.jpg", "component 3", "in no scan"});

  // The fuzzer's find: a DHT that defines AC1 twice and AC0 never.
  const std::string found = std::string(CUSEG_FUZZ_DIR) + "/regressions/fuzz_image/stb-jpeg-uninitialized-huffman.jpg";
  expect_error([&] { read_image(found, 3); }, {"stb-jpeg-uninitialized-huffman.jpg", "AC Huffman table 0"});

  int jpegs = 0;
  for (const auto& e : fs::directory_iterator(std::string(CUSEG_FUZZ_DIR) + "/corpus/fuzz_image")) {
    if (e.path().extension() != ".jpg") continue;
    EXPECT_NO_THROW(read_image(e.path().string(), 3)) << e.path();
    ++jpegs;
  }
  EXPECT_GE(jpegs, 7);
}

// A BMP may store its rows top-down (a negative height): read with its real height, rows in order.
TEST_F(DataFiles, ReadsTopDownBmp) {
  std::string bmp = "BM";
  auto le32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) bmp += char((v >> (8 * i)) & 255); };
  auto le16 = [&](uint16_t v) { bmp += char(v & 255); bmp += char(v >> 8); };
  le32(14 + 40 + 2 * 8); le32(0); le32(14 + 40);                  // file size, reserved, pixel offset
  le32(40); le32(2); le32(uint32_t(-2)); le16(1); le16(24);       // 2x2, top-down, 24 bits
  le32(0); le32(16); le32(2835); le32(2835); le32(0); le32(0);
  bmp += std::string("\x00\x00\xff\x00\xff\x00\x00\x00", 8);  // top row: red, green (BGR), padding
  bmp += std::string("\xff\x00\x00\xff\xff\xff\x00\x00", 8);  // bottom row: blue, white
  test::write_file(path("top_down.bmp"), bmp);
  const ImageInfo info = read_image_info(path("top_down.bmp"));
  EXPECT_EQ(info.height, 2);
  EXPECT_EQ(read_image(path("top_down.bmp"), 3).to_vector<float>(),
            (std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}));
}

// A palette BMP may store fewer colours than its bit depth allows, as long as no pixel uses one
// it lacks: stb would take such a pixel's colour from an uninitialized array on its stack.
TEST_F(DataFiles, RefusesBmpPixelsPastThePalette) {
  auto bmp = [](uint8_t last_index) {
    std::string b = "BM";
    auto le32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) b += char((v >> (8 * i)) & 255); };
    auto le16 = [&](uint16_t v) { b += char(v & 255); b += char(v >> 8); };
    le32(14 + 40 + 8 + 8); le32(0); le32(14 + 40 + 8);              // file size, reserved, pixels after 2 colours
    le32(40); le32(4); le32(2); le16(1); le16(8);                    // 4x2, 8 bits
    le32(0); le32(8); le32(2835); le32(2835); le32(2); le32(0);
    b += std::string("\x00\x00\xff\x00\xff\x00\x00\x00", 8);  // red, blue (BGR0)
    b += std::string("\x00\x01\x01\x00", 4);                        // bottom row
    b += std::string("\x01\x00\x00", 3) + char(last_index);          // top row
    return b;
  };
  test::write_file(path("short_palette.bmp"), bmp(1));
  const std::vector<float> px = read_image(path("short_palette.bmp"), 3).to_vector<float>();
  EXPECT_EQ(std::vector<float>(px.begin(), px.begin() + 6), (std::vector<float>{0, 0, 1, 1, 0, 0}));  // blue, red
  test::write_file(path("past_palette.bmp"), bmp(5));
  expect_error([&] { read_image(path("past_palette.bmp"), 3); },
               {"past_palette.bmp", "stored row 1, column 3", "palette entry 5", "has 2 entries"});
  expect_error([&] { read_mask(path("past_palette.bmp"), Palette{{255, 0, 0}}); }, {"past_palette.bmp", "palette entry 5"});
  // The fuzzer's finds: a 1-bit BMP whose pixel offset leaves no room for a palette, an 8-bit one.
  const std::string dir = std::string(CUSEG_FUZZ_DIR) + "/regressions/fuzz_image/";
  expect_error([&] { read_image(dir + "stack-bmp-1bit-index-past-palette", 3); }, {"1bit-index-past-palette", "corrupt BMP"});
  expect_error([&] { read_image(dir + "stack-bmp-8bit-index-past-palette", 3); }, {"8bit-index-past-palette", "no room for a palette"});
}

// The same for PNG: a pixel whose index is past the PLTE chunk is refused (its colour would come
// from stb's stack), found after inflating and unfiltering; palette PNGs whose pixels all stay
// within a short palette, interlaced or not, decode.
TEST_F(DataFiles, RefusesPngPixelsPastThePalette) {
  const std::string dir = std::string(CUSEG_FUZZ_DIR) + "/regressions/fuzz_image/";
  expect_error([&] { read_image(dir + "stack-png-4bit-index-past-plte-a", 3); },
               {"plte-a", "corrupt PNG", "row 2, column 5", "palette entry 12", "PLTE chunk has 8 entries"});
  expect_error([&] { read_mask(dir + "stack-png-4bit-index-past-plte-b", Palette{{0, 1, 2}}); }, {"plte-b", "palette entry 12"});
  const std::string corpus = std::string(CUSEG_FUZZ_DIR) + "/corpus/fuzz_image/";
  for (const char* name : {"palette.png", "palette_trns.png", "palette4.png", "palette8_interlaced.png"})
    EXPECT_NO_THROW(read_image(corpus + name, 3)) << name;
}

// stb is compiled with only its PNG, JPEG and BMP decoders: a file of another format (here a
// GIF under a .png name) is refused, not decoded.
TEST_F(DataFiles, RefusesOtherFormatsStbCouldDecode) {
  // A 1x1 GIF89a.
  const unsigned char gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
                               ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, ';'};
  test::write_file(path("gif.png"), std::string(reinterpret_cast<const char*>(gif), sizeof(gif)));
  expect_error([&] { read_image(path("gif.png"), 3); }, {"gif.png", "not a readable PNG, JPEG or BMP"});
}

TEST_F(DataFiles, LoadsAFolderDatasetAndInfersClasses) {
  write_sample("train", "b", 6, 5, 3);
  write_sample("train", "a", 4, 4, 3);
  FolderDataset ds({dir_.string(), "train", 3, 0, 255, false});
  EXPECT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.classes(), 3);  // largest label 2
  const Sample s = *ds.load(0);
  EXPECT_EQ(s.name, "a");  // sorted by name
  EXPECT_EQ(s.image.shape(), (Shape{4, 4, 3}));
  EXPECT_FLOAT_EQ(s.image.to_vector<float>()[(1 * 4 + 2) * 3 + 1], 40.f / 255);
  EXPECT_EQ(s.labels.to_vector<uint8_t>()[1 * 4 + 2], 0);  // (1 + 2) % 3

  { std::ofstream(dir_ / "classes.txt") << "background\ncat\ndog\nbird\n"; }
  FolderDataset named({dir_.string(), "train", 3, 0, 255, false});
  EXPECT_EQ(named.classes(), 4);
  EXPECT_EQ(named.class_names()[3], "bird");
}

TEST_F(DataFiles, MapsPaletteMasks) {
  fs::create_directories(dir_ / "val" / "images");
  fs::create_directories(dir_ / "val" / "masks");
  write_png((dir_ / "val" / "images" / "x.png").string(), Tensor::zeros(Shape{1, 2, 3}, DType::U8));
  write_png((dir_ / "val" / "masks" / "x.png").string(),
            Tensor::from_vector(std::vector<uint8_t>{0, 0, 0, 200, 10, 10}, Shape{1, 2, 3}));
  { std::ofstream(dir_ / "palette.txt") << "0 0 0\n200 10 10\n"; }
  FolderDataset ds({dir_.string(), "val", 3, 0, 255, false});
  EXPECT_EQ(ds.classes(), 2);
  EXPECT_EQ(ds.load(0)->labels.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1}));
  { std::ofstream(dir_ / "palette.txt") << "0 0 0\n1 2\n"; }
  expect_error([&] { FolderDataset({dir_.string(), "val", 3, 0, 255, false}); }, {"palette.txt", "line 2"});
}

TEST_F(DataFiles, RefusesBadSamplesOrSkipsAndCountsThem) {
  write_sample("train", "good", 4, 4, 3);
  write_sample("train", "short", 4, 4, 3, /*mask_h=*/3);
  fs::create_directories(dir_ / "train" / "images");
  write_png((dir_ / "train" / "images" / "alone.png").string(), Tensor::zeros(Shape{4, 4, 3}, DType::U8));
  expect_error([&] { FolderDataset({dir_.string(), "train", 3, 3, 255, false}); }, {"alone.png", "no mask"});

  FolderDataset lenient({dir_.string(), "train", 3, 3, 255, true});
  EXPECT_EQ(lenient.size(), 2u);
  EXPECT_EQ(lenient.bad_samples(), 1);
  EXPECT_TRUE(lenient.load(0).has_value());  // "good"
  EXPECT_FALSE(lenient.load(1).has_value());  // "short": mask 4x3 vs image 4x4
  EXPECT_EQ(lenient.bad_samples(), 2);
  EXPECT_NE(lenient.last_problem().find("short.png"), std::string::npos) << lenient.last_problem();

  fs::remove(dir_ / "train" / "images" / "alone.png");
  FolderDataset strict({dir_.string(), "train", 3, 2, 255, false});  // labels reach 2: not below 2 classes
  expect_error([&] { strict.load(0); }, {"good.png", "label 2", "not below the 2 classes"});
  expect_error([&] { strict.load(1); }, {"short.png", "mask is 4x3"});
  fs::create_directories(dir_ / "val" / "images");
  expect_error([&] { FolderDataset({dir_.string(), "val", 3, 0, 255, false}); }, {"val", "no usable image"});
  expect_error([&] { FolderDataset({(dir_ / "nowhere").string(), "train", 3, 0, 255, false}); }, {"no such folder"});
}

}  // namespace
}  // namespace cuseg
