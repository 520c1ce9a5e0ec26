// TensorBoard event files, written by our own code: TFRecord framing around tensorflow.Event
// protocol buffers, encoded by hand (the few fields TensorBoard's scalars and images need).
//
// A record is: uint64 length, uint32 masked CRC-32C of those 8 bytes, the bytes, uint32 masked
// CRC-32C of the bytes (little-endian). Each record reaches the file in one write(2) on an
// O_APPEND descriptor, so a killed run leaves whole records and at most one cut-short last one,
// which readers drop; flush() makes the records written so far durable (fdatasync).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cuseg {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), and TFRecord's masking of it: a CRC
// stored beside the data it covers is rotated and offset, so that a CRC of CRCs is not trivial.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

class EventFile {
 public:
  // Creates `dir` and a new file in it, events.out.tfevents.<unix seconds>.<host>.<pid>, whose
  // first event names the format version ("brain.Event:2"), as TensorBoard expects.
  explicit EventFile(const std::string& dir);
  ~EventFile();
  EventFile(const EventFile&) = delete;
  EventFile& operator=(const EventFile&) = delete;

  struct Scalar {
    std::string tag;
    double value;
  };
  // One event holding every scalar at `step` (stored as float32, as TensorBoard's simple_value).
  void scalars(int64_t step, const std::vector<Scalar>& values);
  // An image summary: `png` is an encoded PNG of height × width × channels (1, 3 or 4).
  void image(int64_t step, const std::string& tag, int height, int width, int channels, const std::vector<uint8_t>& png);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_event(int64_t step, const std::string& event_fields);

  std::string path_;
  int fd_ = -1;
};

}  // namespace cuseg
