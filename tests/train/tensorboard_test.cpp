// TensorBoard event files: CRC-32C against RFC 3720's check values, the TFRecord framing walked
// record by record, and a 3-epoch training run read back by TensorBoard's own reader (PyPI's
// tensorboard, in the virtual environment scripts/deps.sh makes): every scalar of every log.jsonl
// line, every step's loss and every validation image, counted one by one, since that reader drops
// a damaged last record without a word; then the same folder with its last record cut short, as
// a killed run leaves it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cuseg/train/event_file.h"
#include "cuseg/train/tensorboard_log.h"
#include "cuseg/train/trainer.h"
#include "oracle.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(Crc32c, MatchesTheCheckValuesOfRfc3720) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF), up(32), down(32);
  std::iota(up.begin(), up.end(), uint8_t(0));
  std::iota(down.rbegin(), down.rend(), uint8_t(0));
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
  const uint32_t c = crc32c(up.data(), 32);
  EXPECT_EQ(masked_crc32c(up.data(), 32), ((c >> 15) | (c << 17)) + 0xA282EAD8u);
}

// The records of a TFRecord file, each checked: length, its masked CRC, the data, its masked CRC.
// `rest` gets the bytes after the last whole record.
std::vector<std::string> records(const std::string& bytes, size_t* rest = nullptr) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 12 <= bytes.size()) {
    uint64_t length;
    uint32_t length_crc, data_crc;
    std::memcpy(&length, bytes.data() + at, 8);
    std::memcpy(&length_crc, bytes.data() + at + 8, 4);
    EXPECT_EQ(length_crc, masked_crc32c(bytes.data() + at, 8)) << "record " << out.size();
    if (at + 12 + length + 4 > bytes.size()) break;
    std::memcpy(&data_crc, bytes.data() + at + 12 + length, 4);
    EXPECT_EQ(data_crc, masked_crc32c(bytes.data() + at + 12, length)) << "record " << out.size();
    out.push_back(bytes.substr(at + 12, length));
    at += 12 + length + 4;
  }
  if (rest) *rest = bytes.size() - at;
  return out;
}

TEST(EventFile, WritesOneCheckedRecordPerEventAfterTheVersion) {
  const fs::path dir = test::fresh_test_dir("cuseg_events");
  std::string path;
  {
    EventFile f((dir / "tb").string());
    path = f.path();
    f.scalars(1, {{"a", 0.5}, {"b", -2}});
    f.scalars(2, {{"a", 0.25}});
    f.image(2, "img", 1, 1, 3, {1, 2, 3});
    f.flush();
  }
  EXPECT_EQ(fs::path(path).parent_path(), dir / "tb");
  EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u) << path;
  size_t rest = 1;
  const std::vector<std::string> r = records(test::read_file(path), &rest);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(rest, 0u);
  EXPECT_NE(r[0].find("brain.Event:2"), std::string::npos);
  fs::remove_all(dir);
}

// What TensorBoard's reader sees in `dir`.
json read_with_tensorboard(const fs::path& dir) { return json::parse(test::run_oracle("tensorboard_read.py " + dir.string())); }

TEST(TensorBoard, TensorBoardReadsEveryScalarStepLossAndImageOfAThreeEpochRun) {
  CUSEG_REQUIRE_ORACLE("tensorboard");
  const fs::path dir = test::fresh_test_dir("cuseg_tensorboard");
  TrainConfig c;
  c.synthetic_train = 16;
  c.synthetic_val = 4;
  c.height = c.width = 16;
  c.base = 4;
  c.depth = 3;
  c.batch = 4;
  c.epochs = 3;
  c.seed = 3;
  c.quiet = true;
  c.progress = false;
  c.out = (dir / "run").string();
  Trainer(c).run();

  std::vector<json> lines;
  {
    std::ifstream in(fs::path(c.out) / "log.jsonl");
    for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  }
  ASSERT_EQ(lines.size(), 3u);
  const json seen = read_with_tensorboard(fs::path(c.out) / "tb");
  const json& scalars = seen.at("scalars");

  // Every number of every log line, at the step its epoch ended on, as float32.
  size_t expected_tags = 1;  // step/loss
  for (size_t e = 0; e < lines.size(); ++e)
    for (const auto& [key, v] : lines[e].items()) {
      auto check = [&](const std::string& tag, const json& value) {
        ASSERT_TRUE(scalars.contains(tag)) << tag;
        const json& events = scalars.at(tag);
        ASSERT_EQ(events.size(), lines.size()) << tag;
        EXPECT_EQ(events[e][0].get<int64_t>(), lines[e]["steps"].get<int64_t>()) << tag;
        EXPECT_EQ(events[e][1].get<double>(), double(float(value.get<double>()))) << tag << " epoch " << e + 1;
        if (e == 0) ++expected_tags;
      };
      if (v.is_number()) check("epoch/" + key, v);
      if (v.is_object())
        for (const auto& [name, x] : v.items())
          if (x.is_number()) check("epoch/" + key + "/" + name, x);
    }
  EXPECT_EQ(scalars.size(), expected_tags) << seen.dump();
  EXPECT_TRUE(scalars.contains("epoch/iou/background")) << seen.dump();

  // One loss per optimizer step, steps 1, 2, …
  const int64_t steps = lines.back()["steps"].get<int64_t>();
  ASSERT_TRUE(scalars.contains("step/loss"));
  const json& loss = scalars.at("step/loss");
  ASSERT_EQ(int64_t(loss.size()), steps);
  for (int64_t i = 0; i < steps; ++i) {
    EXPECT_EQ(loss[size_t(i)][0].get<int64_t>(), i + 1);
    EXPECT_TRUE(std::isfinite(loss[size_t(i)][1].get<double>()));
  }

  // The first validation images, per epoch: image | true mask | prediction.
  const json& images = seen.at("images");
  ASSERT_EQ(images.size(), size_t(TensorBoardLog::kImages)) << images.dump();
  for (const auto& [tag, events] : images.items()) {
    EXPECT_EQ(tag.rfind("val/", 0), 0u) << tag;
    ASSERT_EQ(events.size(), lines.size()) << tag;
    for (size_t e = 0; e < events.size(); ++e) {
      EXPECT_EQ(events[e][0].get<int64_t>(), lines[e]["steps"].get<int64_t>());
      EXPECT_EQ(events[e][1].get<int>(), 3 * 16 + 4);  // width: three panels and two gaps
      EXPECT_EQ(events[e][2].get<int>(), 16);
      EXPECT_GT(events[e][3].get<int>(), 8);  // a PNG, not nothing
    }
  }

  // Killed while writing its last record (the last epoch's last image): the reader sees all the
  // rest.
  const fs::path cut = dir / "cut";
  fs::create_directories(cut);
  int files = 0;
  for (const auto& f : fs::directory_iterator(fs::path(c.out) / "tb")) {
    std::string bytes = test::read_file(f.path());
    const std::vector<std::string> whole = records(bytes);
    EXPECT_GT(whole.size(), size_t(steps));
    std::ofstream(cut / f.path().filename(), std::ios::binary) << bytes.substr(0, bytes.size() - 5);
    ++files;
  }
  EXPECT_EQ(files, 1);
  const json after = read_with_tensorboard(cut);
  EXPECT_EQ(after.at("scalars"), scalars);
  int shown = 0;
  for (const auto& [tag, events] : after.at("images").items()) shown += int(events.size());
  EXPECT_EQ(shown, TensorBoardLog::kImages * 3 - 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cuseg
