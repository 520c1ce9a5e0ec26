// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. cuseg checkpoints are such files, so any safetensors reader opens them.
#pragma once

#include <map>
#include <string>

#include "cuseg/core/tensor.h"

namespace cuseg {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;        // on the CPU
  std::map<std::string, std::string> metadata;  // the "__metadata__" entry
};

// Writes atomically (atomic_file.h): a crash leaves either the old file or the new one. Tensors
// may live on any device.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Validates everything before allocating: header size, JSON, dtypes, shapes (rank <= 4),
// byte ranges (inside the file, matching the shape, not overlapping). Errors name the file.
// I64 tensors (PyTorch's counters, such as batch norm's num_batches_tracked) are read as i32;
// a value beyond int32 is an error naming the tensor.
SafetensorsFile load_safetensors(const std::string& path);
// The metadata alone, after the same validation of the header (no tensor data is read).
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path);

}  // namespace cuseg
