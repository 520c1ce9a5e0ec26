#include "cuseg/core/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cuseg_safetensors_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A file from a raw header and data, as another writer would produce it.
  std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                        uint64_t claimed_length = UINT64_MAX) {
    const uint64_t len = claimed_length == UINT64_MAX ? header.size() : claimed_length;
    std::ofstream out(path(name), std::ios::binary);
    for (int i = 0; i < 8; ++i) out.put(char((len >> (8 * i)) & 0xff));
    out << header << data;
    return path(name);
  }

  fs::path dir_;
};

TEST_F(Safetensors, RoundTripsEveryDtypeAndTheMetadata) {
  std::map<std::string, Tensor> tensors = {
      {"enc0.conv1.weight", test::random(Shape{4, 3, 3, 2}, 1, -1, 1, DType::F32)},
      {"f64", test::random(Shape{5}, 2)},
      {"bf16", test::random(Shape{2, 3}, 3, -1, 1, DType::Bf16)},
      {"i32", Tensor::from_vector(std::vector<int32_t>{-1, 2, 3}, Shape{3})},
      {"u8", Tensor::from_vector(std::vector<uint8_t>{0, 7, 255}, Shape{1, 3})},
      {"scalar", Tensor::full(Shape{}, 2.5)},
  };
  const std::map<std::string, std::string> meta = {{"model", "unet-s"}, {"classes", "bg,fg"}};
  save_safetensors(path("m.safetensors"), tensors, meta);
  const SafetensorsFile f = load_safetensors(path("m.safetensors"));
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor& back = f.tensors.at(name);
    EXPECT_EQ(back.dtype(), t.dtype()) << name;
    EXPECT_EQ(back.shape(), t.shape()) << name;
    EXPECT_TRUE(test::identical(back, t, name, 0));
  }
  EXPECT_FALSE(fs::exists(path("m.safetensors.tmp")));
}

TEST_F(Safetensors, WritesTheLayoutTheSpecDescribes) {
  save_safetensors(path("a.safetensors"),
                   {{"b", Tensor::from_vector(std::vector<float>{1, 2}, Shape{2})},
                    {"a", Tensor::from_vector(std::vector<int32_t>{7}, Shape{1, 1})}},
                   {{"k", "v"}});
  const std::string bytes = test::read_file(path("a.safetensors"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u) << "data should start 8-byte aligned";
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["k"], "v");
  EXPECT_EQ(header["a"]["dtype"], "I32");
  EXPECT_EQ(header["a"]["shape"], nlohmann::json::array({1, 1}));
  EXPECT_EQ(header["b"]["dtype"], "F32");
  const auto a_off = header["a"]["data_offsets"], b_off = header["b"]["data_offsets"];
  int32_t a = 0;
  float b[2] = {};
  std::memcpy(&a, bytes.data() + 8 + n + a_off[0].get<size_t>(), 4);
  std::memcpy(b, bytes.data() + 8 + n + b_off[0].get<size_t>(), 8);
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[1], 2.0f);
  EXPECT_EQ(bytes.size(), 8 + n + 12);
}

TEST_F(Safetensors, ReadsAFileFromAnotherWriter) {
  // Unsorted offsets, no metadata, trailing spaces in the header: all allowed by the format.
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"s":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}   )";
  float w[2] = {0.5f, -3};
  std::string data = "\x01\x02\x03\x04";
  data.append(reinterpret_cast<const char*>(w), 8);
  const SafetensorsFile f = load_safetensors(write_raw("other.safetensors", header, data));
  EXPECT_EQ(f.tensors.at("w").to_vector<float>(), (std::vector<float>{0.5f, -3}));
  EXPECT_EQ(f.tensors.at("s").to_vector<uint8_t>(), (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_TRUE(f.metadata.empty());
}

TEST_F(Safetensors, RefusesDamagedFilesWithTheFileName) {
  auto refuses = [&](const std::string& file, const std::string& needle) {
    try {
      load_safetensors(file);
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(file), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
      return;
    }
    ADD_FAILURE() << file << " was accepted";
  };
  const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\0');
  refuses(path("missing.safetensors"), "cannot open");
  refuses(write_raw("empty_header", "", ""), "not valid JSON");
  refuses(write_raw("huge_header", ok, data, uint64_t(1) << 40), "header length");
  refuses(write_raw("bad_json", "{not json", data), "not valid JSON");
  refuses(write_raw("array", "[1,2]", data), "not a JSON object");
  refuses(write_raw("dtype", R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", data),
          "dtype");
  refuses(
      write_raw("rank", R"({"w":{"dtype":"U8","shape":[1,1,1,1,8],"data_offsets":[0,8]}})", data),
      "dimensions");
  refuses(write_raw("size", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
          "bytes for");
  refuses(write_raw("range", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data),
          "outside");
  refuses(write_raw(
              "huge_shape",
              R"({"w":{"dtype":"F32","shape":[1000000000000,1000000000000],"data_offsets":[0,8]}})",
              data),
          "exceeds");
  refuses(
      write_raw(
          "overlap",
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          data),
      "overlap");
  refuses(write_raw("meta", R"({"__metadata__":{"k":1}})", ""), "metadata");
  refuses(write_raw("fields", R"({"w":{"dtype":"F32"}})", ""), "lacks");
  test::write_file(path("tiny"), "abc");
  refuses(path("tiny"), "not a safetensors file");
}

TEST_F(Safetensors, SavingIntoAMissingFolderFailsCleanly) {
  EXPECT_THROW(
      save_safetensors(path("no/such/dir/x.safetensors"), {{"a", Tensor::zeros(Shape{1})}}), Error);
}

}  // namespace
}  // namespace cuseg
