#include "cuseg/core/device.h"

#include <mutex>

#include "cuseg/config.h"
#include "cuseg/core/error.h"
#if CUSEG_HAS_CUDA
#include "cuseg/core/cuda/runtime.h"
#endif

namespace cuseg {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5) {
    size_t used = 0;
    int index = -1;
    try {
      index = std::stoi(text.substr(5), &used);
    } catch (const std::exception&) {
    }
    if (used == text.size() - 5 && index >= 0) return cuda(index);
  }
  throw_error("Device::parse: '" + text + "' is not cpu, cuda or cuda:N");
}

Device Device::resolve(const std::string& text) {
  if (text == "auto") return cuda_available() ? cuda(0) : cpu();
  const Device d = parse(text);
  CUSEG_CHECK(d.is_cpu() || d.index < cuda_device_count(), "device ", text, ": not available (", cuda_status(), ")");
  return d;
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

namespace {

struct CudaProbe {
  int count = 0;
  std::string status;
};

const CudaProbe& probe() {
  static const CudaProbe result = [] {
    CudaProbe p;
#if CUSEG_HAS_CUDA
    // cudaGetDeviceCount reports a missing driver, an old driver or CUDA_VISIBLE_DEVICES=""
    // as an error code; none of them is ours to print.
    cudaError_t err = cudaGetDeviceCount(&p.count);
    if (err != cudaSuccess) {
      p.count = 0;
      p.status = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
      cudaGetLastError();  // clear the sticky-free error so later calls start clean
    } else if (p.count == 0) {
      p.status = "no CUDA device found";
    } else {
      p.status = std::to_string(p.count) + " CUDA device(s)";
    }
#else
    p.status = "built without CUDA";
#endif
    return p;
  }();
  return result;
}

}  // namespace

int cuda_device_count() { return probe().count; }
bool cuda_available() { return probe().count > 0; }
std::string cuda_status() { return probe().status; }

std::string cuda_device_name(int index) {
#if CUSEG_HAS_CUDA
  if (index < 0 || index >= cuda_device_count()) return "";
  cudaDeviceProp prop{};
  CUSEG_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return prop.name;
#else
  (void)index;
  return "";
#endif
}

std::string cuda_device_bus_id(int index) {
#if CUSEG_HAS_CUDA
  if (index < 0 || index >= cuda_device_count()) return "";
  char id[32] = {};
  CUSEG_CUDA_CHECK(cudaDeviceGetPCIBusId(id, int(sizeof(id)), index));
  return id;
#else
  (void)index;
  return "";
#endif
}

void synchronize(Device device) {
  if (device.is_cpu()) return;
#if CUSEG_HAS_CUDA
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(cuda::stream(device.index)));
#else
  throw_error("synchronize: " + device.str() + " requested but cuseg was built without CUDA");
#endif
}

}  // namespace cuseg
