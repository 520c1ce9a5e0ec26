// Tensor: a shape, a dtype, a device and a reference-counted storage. Copies of a Tensor share
// storage (like a shared_ptr); clone() and to() make new storage. A view is a tensor with an
// offset into the same storage. Contiguous, row-major; images are NHWC.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuseg/core/device.h"
#include "cuseg/core/dtype.h"
#include "cuseg/core/error.h"
#include "cuseg/core/memory.h"
#include "cuseg/core/shape.h"

namespace cuseg {

class Storage {
 public:
  Storage(size_t bytes, Device device, HostMemory host);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  HostMemory host_memory() const { return host_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  HostMemory host_;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage; defined() is false

  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  // Page-locked host memory: transfers from and to it run asynchronously at full speed.
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::F32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::cpu());
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            Device device = Device::cpu());

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const;
  bool is_pinned() const;
  std::string str() const;  // "f32[2,8,8,3]@cuda:0"

  void* raw_data() const;
  template <class T>
  T* data() const {
    CUSEG_CHECK(dtype_of<T>() == dtype_, "Tensor::data: tensor is ", dtype_name(dtype_),
                ", asked for ", dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw_data());
  }

  template <class T>
  std::vector<T> to_vector() const;  // copies to the host; T must match the dtype

  Tensor clone() const;
  Tensor to(Device device) const;  // always a copy
  // A converted copy on the same device; integer targets saturate (NaN → 0), bf16 rounds to
  // nearest even.
  Tensor to(DType dtype) const;
  void copy_from(const Tensor& src);  // same shape and dtype; any pair of devices

  // A tensor sharing this one's storage, starting `offset` elements in.
  Tensor view(const Shape& shape, int64_t offset = 0) const;

  void fill(double value);  // converted as by to(DType)
  // Philox draws: element i of the tensor takes word i of the stream for `seed`, so the result
  // is identical on every device.
  void fill_uniform(uint64_t seed, double low, double high);
  void fill_normal(uint64_t seed, double mean, double stddev);  // Box-Muller, drawn on the host

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::F32;
};

}  // namespace cuseg
