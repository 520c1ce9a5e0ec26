// Internal: device memory for an op's temporaries (partial sums, split-K tiles, cuDNN workspaces,
// device-side tables). It comes from allocate_bytes like every tensor, so a full device gets the
// same pool trim-and-retry and the same OutOfMemory error (naming the size and what was free),
// never a bare CUDA code; it goes back with free_bytes, in stream order, so a kernel queued on
// the device's stream before the Scratch dies may still use it.
//
//   Scratch partials(sizeof(double) * blocks, device);
//   CUSEG_LAUNCH(kernel, blocks, threads, 0, s, partials.as<double>());
#pragma once

#include <cstddef>
#include <utility>

#include "cuseg/core/memory.h"

namespace cuseg::cuda {

class Scratch {
 public:
  Scratch() = default;
  // bytes == 0 holds nothing (data() is null).
  Scratch(size_t bytes, int device)
      : device_(device),
        bytes_(bytes),
        ptr_(bytes ? allocate_bytes(bytes, Device::cuda(device)) : nullptr) {}
  ~Scratch() { release(); }

  Scratch(Scratch&& other) noexcept
      : device_(other.device_),
        bytes_(std::exchange(other.bytes_, 0)),
        ptr_(std::exchange(other.ptr_, nullptr)) {}
  Scratch& operator=(Scratch&& other) noexcept {
    if (this != &other) {
      release();
      device_ = other.device_;
      bytes_ = std::exchange(other.bytes_, 0);
      ptr_ = std::exchange(other.ptr_, nullptr);
    }
    return *this;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  void* data() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void release() noexcept {
    free_bytes(ptr_, bytes_, Device::cuda(device_));  // null: nothing to do
    ptr_ = nullptr;
    bytes_ = 0;
  }

  int device_ = 0;
  size_t bytes_ = 0;
  void* ptr_ = nullptr;
};

}  // namespace cuseg::cuda
