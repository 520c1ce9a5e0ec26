#include "cuseg/core/protobuf.h"

namespace cuseg::pb {

namespace {

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void put_key(std::string& out, uint32_t field, Wire wire) {
  put_varint(out, (uint64_t(field) << 3) | wire);
}

}  // namespace

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(v | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}

void put_int(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, uint64_t(v));
}

void put_double(std::string& out, uint32_t field, double v) {
  put_key(out, field, kFixed64);
  put_little_endian(out, v);
}

void put_float(std::string& out, uint32_t field, float v) {
  put_key(out, field, kFixed32);
  put_little_endian(out, v);
}

void put_bytes(std::string& out, uint32_t field, const void* data, size_t size) {
  put_key(out, field, kBytes);
  put_varint(out, size);
  out.append(static_cast<const char*>(data), size);
}

void put_bytes(std::string& out, uint32_t field, const std::string& s) {
  put_bytes(out, field, s.data(), s.size());
}

}  // namespace cuseg::pb
