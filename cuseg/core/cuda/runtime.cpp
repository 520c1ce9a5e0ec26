#include "cuseg/core/cuda/runtime.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "cuseg/config.h"
#include "cuseg/core/device.h"
#if CUSEG_CUDA_EMULATED
#include "cuseg/emu/launch.h"
#endif

namespace cuseg::cuda {

void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
#if CUSEG_CUDA_EMULATED
  // The emulator knows more than the code: which kernel, limit, thread or source line.
  const std::string detail = emu::last_error_detail();
  if (!detail.empty())
    throw Error(str_cat(file, ":", line, ": CUDA error ", cudaGetErrorName(err), " (",
                        cudaGetErrorString(err), ") in ", what, ": ", detail));
#endif
  throw Error(str_cat(file, ":", line, ": CUDA error ", cudaGetErrorName(err), " (",
                      cudaGetErrorString(err), ") in ", what));
}

void set_device(int device) {
  CUSEG_CHECK(device >= 0 && device < cuda_device_count(), "cuda:", device, " is not available (",
              cuda_status(), ")");
  CUSEG_CUDA_CHECK(cudaSetDevice(device));
}

namespace {

constexpr int kMaxDevices = 64;

// Written once per device under call_once, read without a lock by existing_stream().
std::array<std::atomic<cudaStream_t>, kMaxDevices> streams{};
std::array<std::once_flag, kMaxDevices> stream_once;

}  // namespace

cudaStream_t stream(int device) {
  CUSEG_CHECK(device >= 0 && device < kMaxDevices, "cuda:", device, " is out of range");
  set_device(device);
  // Streams are never destroyed: memory may still be freed on them during static destruction.
  std::call_once(stream_once[size_t(device)], [&] {
    // The default pool's release threshold is 0: every synchronization (several per training
    // step) would hand all freed memory back to the driver and the next step would map it again.
    // Keep it instead; allocate_bytes trims the pool when an allocation fails.
    cudaMemPool_t pool;
    CUSEG_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    uint64_t keep_all = UINT64_MAX;
    CUSEG_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
    cudaStream_t s = nullptr;
    CUSEG_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    streams[size_t(device)].store(s, std::memory_order_release);
  });
  return streams[size_t(device)].load(std::memory_order_acquire);
}

cudaStream_t existing_stream(int device) noexcept {
  if (device < 0 || device >= kMaxDevices) return nullptr;
  return streams[size_t(device)].load(std::memory_order_acquire);
}

}  // namespace cuseg::cuda
