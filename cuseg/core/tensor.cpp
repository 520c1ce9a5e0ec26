#include "cuseg/core/tensor.h"

#include <cmath>
#include <cstring>
#include <numbers>

#include "cuseg/config.h"
#include "cuseg/core/convert.h"
#include "cuseg/core/philox.h"
#if CUSEG_HAS_CUDA
#include "cuseg/core/cuda/tensor_ops.h"
#endif

namespace cuseg {

Storage::Storage(size_t bytes, Device device, HostMemory host)
    : data_(allocate_bytes(bytes, device, host)), bytes_(bytes), device_(device), host_(host) {}

Storage::~Storage() { free_bytes(data_, bytes_, device_, host_); }

namespace {

template <class F>
void dispatch_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::F32:
      return f(float{});
    case DType::F64:
      return f(double{});
    case DType::Bf16:
      return f(bf16{});
    case DType::I32:
      return f(int32_t{});
    case DType::U8:
      return f(uint8_t{});
  }
}

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, bf16>) {
    return float_to_bf16(float(v));
  } else {
    return saturate_cast<T>(v);
  }
}

template <class T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, bf16>) {
    return bf16_to_float(v);
  } else {
    return double(v);
  }
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), device, HostMemory::Pageable);
  return t;
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
#if CUSEG_HAS_CUDA
  HostMemory host = cuda_available() ? HostMemory::Pinned : HostMemory::Pageable;
#else
  HostMemory host = HostMemory::Pageable;  // nothing to pin for: there is no device to copy to
#endif
  t.storage_ = std::make_shared<Storage>(t.nbytes(), Device::cpu(), host);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(value);
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  CUSEG_CHECK(int64_t(values.size()) == shape.numel(), "Tensor::from_vector: ", values.size(),
              " values for shape ", shape.str());
  Tensor t = empty(shape, dtype_of<T>(), device);
  copy_bytes(t.raw_data(), device, values.data(), Device::cpu(), t.nbytes());
  return t;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  CUSEG_CHECK(defined(), "Tensor::to_vector: undefined tensor");
  CUSEG_CHECK(dtype_of<T>() == dtype_, "Tensor::to_vector: tensor is ", dtype_name(dtype_),
              ", asked for ", dtype_name(dtype_of<T>()));
  std::vector<T> out(static_cast<size_t>(numel()));
  copy_bytes(out.data(), Device::cpu(), raw_data(), device(), nbytes());
  return out;
}

#define CUSEG_INSTANTIATE_VECTOR_IO(T)                                                 \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device); \
  template std::vector<T> Tensor::to_vector<T>() const;
CUSEG_INSTANTIATE_VECTOR_IO(float)
CUSEG_INSTANTIATE_VECTOR_IO(double)
CUSEG_INSTANTIATE_VECTOR_IO(bf16)
CUSEG_INSTANTIATE_VECTOR_IO(int32_t)
CUSEG_INSTANTIATE_VECTOR_IO(uint8_t)
#undef CUSEG_INSTANTIATE_VECTOR_IO

Device Tensor::device() const { return storage_ ? storage_->device() : Device::cpu(); }

bool Tensor::is_pinned() const { return storage_ && storage_->host_memory() == HostMemory::Pinned; }

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return str_cat(dtype_name(dtype_), shape_.str(), "@", device().str());
}

void* Tensor::raw_data() const {
  CUSEG_CHECK(defined(), "Tensor::raw_data: undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_bytes_;
}

Tensor Tensor::clone() const { return to(device()); }

Tensor Tensor::to(Device target) const {
  CUSEG_CHECK(defined(), "Tensor::to: undefined tensor");
  Tensor out = empty(shape_, dtype_, target);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(DType target) const {
  CUSEG_CHECK(defined(), "Tensor::to: undefined tensor");
  if (target == dtype_) return clone();
  // Conversions are rare (test set-up, checkpoint I/O): done on the host for every device.
  Tensor src = device().is_cpu() ? *this : to(Device::cpu());
  Tensor out = empty(shape_, target, Device::cpu());
  const int64_t n = numel();
  dispatch_dtype(dtype_, [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* in = src.data<From>();
    dispatch_dtype(target, [&](auto to_tag) {
      using To = decltype(to_tag);
      To* o = out.data<To>();
      for (int64_t i = 0; i < n; ++i) o[i] = from_double<To>(to_double(in[i]));
    });
  });
  return device().is_cpu() ? out : out.to(device());
}

void Tensor::copy_from(const Tensor& src) {
  CUSEG_CHECK(defined() && src.defined(), "Tensor::copy_from: undefined tensor");
  CUSEG_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_, "Tensor::copy_from: ", src.str(),
              " into ", str());
  copy_bytes(raw_data(), device(), src.raw_data(), src.device(), nbytes());
}

Tensor Tensor::view(const Shape& shape, int64_t offset) const {
  CUSEG_CHECK(defined(), "Tensor::view: undefined tensor");
  const size_t begin = offset_bytes_ + size_t(offset) * dtype_size(dtype_);
  CUSEG_CHECK(
      offset >= 0 && begin + size_t(shape.numel()) * dtype_size(dtype_) <= storage_->bytes(),
      "Tensor::view: ", shape.str(), " at offset ", offset, " does not fit in ", str());
  Tensor v = *this;
  v.shape_ = shape;
  v.offset_bytes_ = begin;
  return v;
}

void Tensor::fill(double value) {
  CUSEG_CHECK(defined(), "Tensor::fill: undefined tensor");
  if (device().is_cuda()) {
#if CUSEG_HAS_CUDA
    cuda::fill(raw_data(), dtype_, numel(), value, device().index);
#endif
    return;
  }
  const int64_t n = numel();
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T v = from_double<T>(value);
    T* p = static_cast<T*>(raw_data());
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
}

void Tensor::fill_uniform(uint64_t seed, double low, double high) {
  CUSEG_CHECK(defined(), "Tensor::fill_uniform: undefined tensor");
  CUSEG_CHECK(low <= high, "Tensor::fill_uniform: low ", low, " > high ", high);
  const double range = high - low;
  if (device().is_cuda()) {
#if CUSEG_HAS_CUDA
    cuda::fill_uniform(raw_data(), dtype_, numel(), seed, low, high, device().index);
#endif
    return;
  }
  const int64_t n = numel();
  dispatch_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(raw_data());
    for (int64_t i = 0; i < n; ++i)
      p[i] = from_double<T>(low + range * philox_uniform01(seed, uint64_t(i)));
  });
}

void Tensor::fill_normal(uint64_t seed, double mean, double stddev) {
  CUSEG_CHECK(defined(), "Tensor::fill_normal: undefined tensor");
  CUSEG_CHECK(stddev >= 0, "Tensor::fill_normal: negative stddev ", stddev);
  // Drawn on the host: log/sin/cos are not bit-identical across CPU and GPU math libraries,
  // so one host draw copied to the device keeps every device's values the same.
  const int64_t n = numel();
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t pair = uint64_t(i / 2) * 2;
    double u1 = (double(philox_word(seed, pair) >> 8) + 1.0) / 16777217.0;  // (0, 1]
    double u2 = philox_uniform01(seed, pair + 1);
    double radius = std::sqrt(-2.0 * std::log(u1));
    double angle = 2.0 * std::numbers::pi * u2;
    values[size_t(i)] = mean + stddev * radius * (i % 2 == 0 ? std::cos(angle) : std::sin(angle));
  }
  Tensor host = Tensor::from_vector(values, shape_).to(dtype_);
  copy_from(host);
}

}  // namespace cuseg
