// Internal: writing protocol buffers by hand — the wire format is a key (field number and wire
// type) followed by the value, and a nested message is a length-delimited field holding its
// bytes. Enough for the messages cuseg writes (TensorBoard events, ONNX models) without a
// protobuf runtime in the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace cuseg::pb {

// The bytes of `value`, least significant first (x86-64 and aarch64 Linux are little-endian).
template <class T>
void put_little_endian(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_varint(std::string& out, uint64_t v);
// int32/int64/enum/bool fields; negative values as ten bytes, as protobuf's int64 does.
void put_int(std::string& out, uint32_t field, int64_t v);
void put_double(std::string& out, uint32_t field, double v);
void put_float(std::string& out, uint32_t field, float v);
// bytes, string and nested-message fields.
void put_bytes(std::string& out, uint32_t field, const void* data, size_t size);
void put_bytes(std::string& out, uint32_t field, const std::string& s);

}  // namespace cuseg::pb
