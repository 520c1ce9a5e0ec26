#include "cuseg/core/memory.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <cstring>
#include <new>

#include "cuseg/config.h"
#include "cuseg/core/error.h"
#include "cuseg/core/host_cache.h"
#if CUSEG_HAS_CUDA
#include "cuseg/core/cuda/runtime.h"
#include "cuseg/core/cuda/step_memory.h"
#endif

namespace cuseg {

namespace {

std::string mib(size_t bytes) { return str_cat(std::round(double(bytes) / (1 << 20) * 10) / 10, " MiB"); }

#if !CUSEG_HAS_CUDA
[[noreturn]] void no_cuda(const char* what, Device device) {
  throw_error(str_cat(what, ": ", device.str(), " requested but ", cuda_status()));
}
#endif
}  // namespace

void* allocate_bytes(size_t bytes, Device device, HostMemory host) {
  if (bytes == 0) bytes = 1;  // a valid, unique pointer even for empty tensors
  if (device.is_cpu() && host == HostMemory::Pageable) {
    void* p = host_cache::allocate(bytes);
    if (!p) throw OutOfMemory(str_cat("out of host memory asking for ", mib(bytes), " (lower --batch or --size)"));
    return p;
  }
#if CUSEG_HAS_CUDA
  void* p = nullptr;
  if (device.is_cpu()) {
    CUSEG_CUDA_CHECK(cudaMallocHost(&p, bytes));
  } else {
    // A captured step's allocations come from the block planned for it (cuda/step_memory.h).
    if (void* served = cuda::step_memory_serve(bytes, device.index)) return served;
    cudaStream_t s = cuda::stream(device.index);
    cudaError_t err = cudaMallocAsync(&p, bytes, s);
    if (err == cudaErrorMemoryAllocation) {
      // The stream-ordered pool may hold freed blocks another size class could not reuse: give
      // them back to the device and try once more before giving up.
      cudaGetLastError();
      cudaMemPool_t pool;
      if (cudaStreamSynchronize(s) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, device.index) == cudaSuccess)
        cudaMemPoolTrimTo(pool, 0);
      err = cudaMallocAsync(&p, bytes, s);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw OutOfMemory(str_cat("out of GPU memory on ", device.str(), ": asked for ", mib(bytes), ", ", mib(free_b),
                                " free of ", mib(total_b), " (lower --batch or --size)"));
    }
    CUSEG_CUDA_CHECK(err);
    cuda::step_memory_note_allocation(p, bytes, device.index);
  }
  return p;
#else
  no_cuda("allocate_bytes", device);
#endif
}

void free_bytes(void* ptr, size_t bytes, Device device, HostMemory host) noexcept {
  if (ptr == nullptr) return;
  if (device.is_cpu() && host == HostMemory::Pageable) {
    host_cache::free(ptr, bytes == 0 ? 1 : bytes);
    return;
  }
#if CUSEG_HAS_CUDA
  // Nothing on this path may throw: free_bytes runs in destructors, also while an exception
  // unwinds the stack. After a sticky device error (an illegal address, say) every CUDA call
  // fails; cuda::stream() or set_device() would then throw out of a noexcept function and
  // terminate the process, losing the error that started the unwinding. So only C calls whose
  // errors are dropped, and existing_stream(), which never throws: memory from allocate_bytes
  // was allocated on that stream, so it exists. At process exit the runtime may already be
  // unloading (cudaErrorCudartUnloading), which is harmless too.
  if (device.is_cpu()) {
    cudaFreeHost(ptr);
  } else {
    if (cuda::step_memory_take_free(ptr, bytes, device.index)) return;
    cudaSetDevice(device.index);
    cudaFreeAsync(ptr, cuda::existing_stream(device.index));
  }
  cudaGetLastError();
#endif
}

CudaMemoryInfo cuda_memory_info(Device device) {
  CUSEG_CHECK(device.is_cuda(), "cuda_memory_info: ", device.str(), " is not a CUDA device");
#if CUSEG_HAS_CUDA
  cuda::set_device(device.index);
  CudaMemoryInfo info;
  CUSEG_CUDA_CHECK(cudaMemGetInfo(&info.free, &info.total));
  return info;
#else
  no_cuda("cuda_memory_info", device);
#endif
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if CUSEG_HAS_CUDA
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device.index != src_device.index) {
    // Order after the source's pending work, copy, and let the destination's stream wait for it.
    CUSEG_CUDA_CHECK(cudaStreamSynchronize(cuda::stream(src_device.index)));
    CUSEG_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, bytes,
                                         cuda::stream(dst_device.index)));
    return;
  }
  int dev = dst_device.is_cuda() ? dst_device.index : src_device.index;
  cudaStream_t s = cuda::stream(dev);
  CUSEG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
  if (dst_device.is_cpu()) CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));
#else
  no_cuda("copy_bytes", dst_device.is_cuda() ? dst_device : src_device);
#endif
}

}  // namespace cuseg
