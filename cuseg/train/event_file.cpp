#include "cuseg/train/event_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "cuseg/core/error.h"
#include "cuseg/core/protobuf.h"

namespace cuseg {

namespace fs = std::filesystem;

// ---- CRC-32C ---------------------------------------------------------------------------------

namespace {

constexpr std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kCrc32cTable = crc32c_table();

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = kCrc32cTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

namespace {

using pb::put_bytes;
using pb::put_double;
using pb::put_float;
using pb::put_int;
using pb::put_little_endian;

// Field numbers of tensorboard/compat/proto/event.proto and summary.proto.
namespace event {
constexpr uint32_t kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5;
}
namespace summary {
constexpr uint32_t kValue = 1;
}
namespace value {
constexpr uint32_t kTag = 1, kSimpleValue = 2, kImage = 4;
}
namespace image {
constexpr uint32_t kHeight = 1, kWidth = 2, kColorspace = 3, kEncoded = 4;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

// ---- the file ----------------------------------------------------------------------------------

EventFile::EventFile(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CUSEG_CHECK(!ec, dir, ": cannot create the TensorBoard folder: ", ec.message());
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const long long seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  path_ = (fs::path(dir) / str_cat("events.out.tfevents.", seconds, ".", host_name(), ".", ::getpid())).string();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  CUSEG_CHECK(fd_ >= 0, path_, ": cannot open: ", std::strerror(errno));
  std::string version;
  put_bytes(version, event::kFileVersion, std::string("brain.Event:2"));
  write_event(0, version);
}

EventFile::~EventFile() {
  if (fd_ >= 0) ::close(fd_);
}

void EventFile::write_event(int64_t step, const std::string& event_fields) {
  std::string ev;
  const double wall = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  put_double(ev, event::kWallTime, wall);
  put_int(ev, event::kStep, step);
  ev += event_fields;

  std::string record;
  put_little_endian(record, uint64_t(ev.size()));
  put_little_endian(record, masked_crc32c(record.data(), 8));
  record += ev;
  put_little_endian(record, masked_crc32c(ev.data(), ev.size()));
  // One write per record (O_APPEND): a record is in the file whole, or cut short only if the
  // process dies inside this call.
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
    if (n < 0 && errno == EINTR) continue;
    CUSEG_CHECK(n > 0, path_, ": write failed: ", std::strerror(errno));
    done += size_t(n);
  }
}

void EventFile::scalars(int64_t step, const std::vector<Scalar>& values) {
  std::string s;
  for (const Scalar& v : values) {
    std::string val;
    put_bytes(val, value::kTag, v.tag);
    put_float(val, value::kSimpleValue, float(v.value));
    put_bytes(s, summary::kValue, val);
  }
  std::string fields;
  put_bytes(fields, event::kSummary, s);
  write_event(step, fields);
}

void EventFile::image(int64_t step, const std::string& tag, int height, int width, int channels,
                      const std::vector<uint8_t>& png) {
  CUSEG_CHECK(channels == 1 || channels == 3 || channels == 4, "TensorBoard image '", tag, "': ", channels,
              " channels (1, 3 or 4)");
  std::string img;
  put_int(img, image::kHeight, height);
  put_int(img, image::kWidth, width);
  put_int(img, image::kColorspace, channels);  // 1 grayscale, 3 RGB, 4 RGBA: the channel count
  put_bytes(img, image::kEncoded, png.data(), png.size());
  std::string val;
  put_bytes(val, value::kTag, tag);
  put_bytes(val, value::kImage, img);
  std::string s;
  put_bytes(s, summary::kValue, val);
  std::string fields;
  put_bytes(fields, event::kSummary, s);
  write_event(step, fields);
}

void EventFile::flush() {
  CUSEG_CHECK(::fdatasync(fd_) == 0, path_, ": fdatasync failed: ", std::strerror(errno));
}

}  // namespace cuseg
