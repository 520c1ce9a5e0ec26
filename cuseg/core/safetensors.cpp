#include "cuseg/core/safetensors.h"

#include <cstdint>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "cuseg/core/atomic_file.h"

namespace cuseg {

// Tensor bytes are written and read as they lie in memory; the format is little-endian.
static_assert(std::endian::native == std::endian::little);

namespace {

// The format caps the header at 100 MB; so do we, before allocating it.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::Bf16:
      return "BF16";
    case DType::I32:
      return "I32";
    case DType::U8:
      return "U8";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType& out) {
  for (DType t : {DType::F32, DType::F64, DType::Bf16, DType::I32, DType::U8}) {
    if (s == safetensors_dtype(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

}  // namespace

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    CUSEG_CHECK(t.defined(), path, ": tensor '", name, "' is undefined");
    CUSEG_CHECK(name != "__metadata__", path, ": '__metadata__' is reserved");
    std::vector<int64_t> shape;
    for (int i = 0; i < t.rank(); ++i) shape.push_back(t.dim(i));
    header[name] = {{"dtype", safetensors_dtype(t.dtype())},
                    {"shape", shape},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  uint8_t len_le[8];
  for (int i = 0; i < 8; ++i) len_le[i] = uint8_t(uint64_t(json.size()) >> (8 * i));

  write_file_atomically(path, [&](const ByteSink& sink) {
    sink(len_le, 8);
    sink(json.data(), json.size());
    for (const auto& [name, t] : tensors) {
      Tensor host = t.device().is_cpu() ? t : t.to(Device::cpu());
      sink(host.raw_data(), host.nbytes());
    }
  });
}

namespace {

SafetensorsFile read_safetensors(const std::string& path, bool with_tensors) {
  std::ifstream in(path, std::ios::binary);
  CUSEG_CHECK(in, path, ": cannot open: ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const uint64_t file_size = uint64_t(in.tellg());
  in.seekg(0);
  CUSEG_CHECK(file_size >= 8, path, ": not a safetensors file (", file_size, " bytes)");
  uint8_t len_le[8];
  in.read(reinterpret_cast<char*>(len_le), 8);
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= uint64_t(len_le[i]) << (8 * i);
  CUSEG_CHECK(header_len <= kMaxHeaderBytes && header_len <= file_size - 8, path,
              ": header length ", header_len, " does not fit a ", file_size, "-byte file");
  std::string json(size_t(header_len), '\0');
  in.read(json.data(), std::streamsize(header_len));
  CUSEG_CHECK(in, path, ": truncated header");
  const uint64_t data_size = file_size - 8 - header_len;

  nlohmann::json header = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  CUSEG_CHECK(!header.is_discarded(), path, ": header is not valid JSON");
  CUSEG_CHECK(header.is_object(), path, ": header is not a JSON object");

  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
    bool int64;  // I64 in the file (PyTorch's counters), read into i32
  };
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      CUSEG_CHECK(value.is_object(), path, ": __metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        CUSEG_CHECK(v.is_string(), path, ": metadata '", k, "' is not a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    CUSEG_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                    value.contains("data_offsets"),
                path, ": tensor '", name, "' lacks dtype, shape or data_offsets");
    const auto& jd = value["dtype"];
    const auto& js = value["shape"];
    const auto& jo = value["data_offsets"];
    Entry e{name, DType::F32, Shape{}, 0, 0, jd == "I64"};
    if (e.int64) e.dtype = DType::I32;
    CUSEG_CHECK(e.int64 || (jd.is_string() && parse_dtype(jd.get<std::string>(), e.dtype)), path,
                ": tensor '", name, "' has unsupported dtype ", jd.dump());
    CUSEG_CHECK(js.is_array() && js.size() <= size_t(Shape::kMaxRank), path, ": tensor '", name,
                "' has shape ", js.dump(), " (at most ", Shape::kMaxRank, " dimensions)");
    int64_t dims[Shape::kMaxRank];
    uint64_t numel = 1;
    for (size_t i = 0; i < js.size(); ++i) {
      CUSEG_CHECK(js[i].is_number_unsigned(), path, ": tensor '", name, "' has shape ", js.dump());
      uint64_t d = js[i].get<uint64_t>();
      CUSEG_CHECK(d <= data_size && (d == 0 || numel <= data_size / d), path, ": tensor '", name,
                  "' shape ", js.dump(), " exceeds the file's ", data_size, " data bytes");
      numel *= d;
      dims[i] = int64_t(d);
    }
    e.shape = Shape(dims, int(js.size()));
    CUSEG_CHECK(
        jo.is_array() && jo.size() == 2 && jo[0].is_number_unsigned() && jo[1].is_number_unsigned(),
        path, ": tensor '", name, "' has data_offsets ", jo.dump());
    e.begin = jo[0].get<uint64_t>();
    e.end = jo[1].get<uint64_t>();
    CUSEG_CHECK(e.begin <= e.end && e.end <= data_size, path, ": tensor '", name, "' data_offsets ",
                jo.dump(), " outside the ", data_size, " data bytes");
    CUSEG_CHECK(e.end - e.begin == numel * (e.int64 ? 8 : dtype_size(e.dtype)), path, ": tensor '",
                name, "' has ", e.end - e.begin, " bytes for ", e.int64 ? "i64" : dtype_name(e.dtype),
                e.shape.str());
    entries.push_back(e);
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  for (size_t i = 1; i < entries.size(); ++i)
    CUSEG_CHECK(entries[i].begin >= entries[i - 1].end, path, ": tensors '", entries[i - 1].name,
                "' and '", entries[i].name, "' overlap");

  if (!with_tensors) return file;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    in.seekg(std::streamoff(8 + header_len + e.begin));
    if (e.int64) {
      std::vector<int64_t> wide(size_t(t.numel()));
      in.read(reinterpret_cast<char*>(wide.data()), std::streamsize(e.end - e.begin));
      CUSEG_CHECK(in, path, ": truncated data for tensor '", e.name, "'");
      int32_t* narrow = t.data<int32_t>();
      for (size_t i = 0; i < wide.size(); ++i) {
        CUSEG_CHECK(wide[i] >= INT32_MIN && wide[i] <= INT32_MAX, path, ": tensor '", e.name,
                    "' (i64) holds ", wide[i], ", beyond int32");
        narrow[i] = int32_t(wide[i]);
      }
    } else {
      in.read(static_cast<char*>(t.raw_data()), std::streamsize(e.end - e.begin));
    }
    CUSEG_CHECK(in, path, ": truncated data for tensor '", e.name, "'");
    file.tensors.emplace(e.name, std::move(t));
  }
  return file;
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) { return read_safetensors(path, true); }

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path) {
  return read_safetensors(path, false).metadata;
}

}  // namespace cuseg
