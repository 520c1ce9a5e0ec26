// Where a tensor lives. The CUDA runtime is probed once; no driver, an old driver, no device or
// an empty CUDA_VISIBLE_DEVICES all read as "no CUDA device", quietly, never as a crash.
#pragma once

#include <cstdint>
#include <string>

namespace cuseg {

enum class DeviceKind : uint8_t { Cpu, Cuda };

struct Device {
  DeviceKind kind = DeviceKind::Cpu;
  int index = 0;

  static Device cpu() { return {DeviceKind::Cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::Cuda, index}; }
  static Device parse(const std::string& text);  // "cpu", "cuda", "cuda:1"
  // As parse, plus "auto" (the first GPU when there is one, else the CPU); a GPU that is not
  // here is an error saying why.
  static Device resolve(const std::string& text);

  bool is_cpu() const { return kind == DeviceKind::Cpu; }
  bool is_cuda() const { return kind == DeviceKind::Cuda; }
  std::string str() const;  // "cpu", "cuda:0"
  bool operator==(const Device&) const = default;
};

// Number of usable CUDA devices: 0 in a CPU-only build or when CUDA cannot run here.
int cuda_device_count();
bool cuda_available();
// One line: the devices found, or why CUDA cannot be used ("built without CUDA",
// "CUDA driver version is insufficient for CUDA runtime version", ...).
std::string cuda_status();
// Name of device `index` ("NVIDIA H100 80GB HBM3"), or "" if there is none.
std::string cuda_device_name(int index);
// PCI bus id of device `index` ("0000:18:00.0"), or "" if there is none: which physical GPU it is,
// whatever CUDA_VISIBLE_DEVICES numbered it in this process.
std::string cuda_device_bus_id(int index);

// Waits until all work queued on the device's stream has finished (no-op for the CPU).
void synchronize(Device device);

}  // namespace cuseg
