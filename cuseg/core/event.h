// A marker in a device's stream: record() notes "everything queued so far", synchronize() waits
// until the device got there. The batch loader uses it to know when an asynchronous copy out of
// a pinned host buffer has finished, so the buffer can be refilled. On the CPU both are no-ops:
// CPU work is done when the call that queued it returns.
#pragma once

#include "cuseg/core/device.h"

namespace cuseg {

class DeviceEvent {
 public:
  DeviceEvent() = default;
  ~DeviceEvent();
  DeviceEvent(const DeviceEvent&) = delete;
  DeviceEvent& operator=(const DeviceEvent&) = delete;

  void record(Device device);
  // Returns at once if nothing was recorded. Callable from any thread.
  void synchronize();

 private:
  void* event_ = nullptr;  // cudaEvent_t, created on first record on a CUDA device
  int device_ = -1;
  bool pending_ = false;
};

}  // namespace cuseg
