#include "cuseg/core/event.h"

#include "cuseg/config.h"
#include "cuseg/core/error.h"

#if CUSEG_HAS_CUDA
#include "cuseg/core/cuda/runtime.h"
#endif

namespace cuseg {

DeviceEvent::~DeviceEvent() {
#if CUSEG_HAS_CUDA
  if (event_) {
    cudaEventDestroy(static_cast<cudaEvent_t>(event_));
    cudaGetLastError();  // a destructor cannot throw; at exit the runtime may be unloading
  }
#endif
}

void DeviceEvent::record(Device device) {
  if (device.is_cpu()) return;
#if CUSEG_HAS_CUDA
  if (event_ && device_ != device.index) {
    CUSEG_CUDA_CHECK(cudaEventDestroy(static_cast<cudaEvent_t>(event_)));
    event_ = nullptr;
  }
  if (!event_) {
    cuda::set_device(device.index);
    cudaEvent_t e;
    CUSEG_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    event_ = e;
    device_ = device.index;
  }
  CUSEG_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event_), cuda::stream(device.index)));
  pending_ = true;
#else
  throw_error(str_cat("DeviceEvent: ", device.str(), " in a build without CUDA"));
#endif
}

void DeviceEvent::synchronize() {
  if (!pending_) return;
#if CUSEG_HAS_CUDA
  CUSEG_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event_)));
#endif
  pending_ = false;
}

}  // namespace cuseg
