// The emulated CUDA runtime: one device, streams as in-order queues each drained by its own
// worker thread, events as positions in a stream, device memory as host memory. A host read of
// device memory without a synchronization is therefore a real data race with the stream's
// worker, which ThreadSanitizer reports.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cuseg/emu/emulator.h"

thread_local uint3 threadIdx{0, 0, 0};
thread_local uint3 blockIdx{0, 0, 0};
thread_local dim3 blockDim{1, 1, 1};
thread_local dim3 gridDim{1, 1, 1};


struct CUevent_st {
  CUstream_st* stream = nullptr;
  uint64_t position = 0;  // done once stream->completed reaches it
  std::chrono::steady_clock::time_point when{};
  unsigned flags = 0;
};

struct CUmemPoolHandle_st {
  uint64_t release_threshold = 0;
};

namespace cuseg::emu {
namespace {

using Clock = std::chrono::steady_clock;

// Every byte of new device memory, and of freed memory, is 0xFF: NaN as f32, f64 and bf16, -1
// as a signed integer, so an output that is never written, or a read after free, shows.
constexpr unsigned char kPoison = 0xFF;
constexpr size_t kDefaultCapacity = size_t(2) << 30;  // small: tests that fill it (out of memory) stay cheap

enum class Space { Pageable, Pinned, Device };

std::atomic<int64_t> device_allocation_total{0};  // device_allocations()
thread_local int64_t host_wait_total = 0;         // host_waits(), of each thread

struct Allocation {
  size_t bytes;
  Space space;
};

struct State {
  std::mutex m;  // guards everything below except what the streams guard themselves
  std::map<uintptr_t, Allocation> allocations;
  size_t device_used = 0;
  size_t capacity = kDefaultCapacity;
  bool visible = true;
  int devices = 1;  // CUSEG_EMU_DEVICES: that many devices, sharing this one memory
  cudaError_t sticky = cudaSuccess;  // a kernel fault: every later call reports it
  std::string sticky_detail;
  std::unordered_map<const void*, int> max_dynamic_shared;
  CUmemPoolHandle_st pool;
  std::vector<CUstream_st*> streams;
  std::mutex kernel;  // one grid at a time in the process: block_runner.cpp's OS threads serve one grid
};

void finish_every_stream();  // below: cudaDeviceSynchronize, and at exit

State& state() {
  // Never destroyed: stream workers may still free memory during static destruction.
  static State* s = [] {
    auto* st = new State;
    std::atexit(finish_every_stream);
    if (const char* v = std::getenv("CUSEG_EMU_MEMORY_MB")) st->capacity = size_t(std::strtoull(v, nullptr, 10)) << 20;
    if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) st->visible = *v != '\0' && std::strcmp(v, "-1") != 0;
    if (const char* v = std::getenv("CUSEG_EMU_DEVICES")) st->devices = std::clamp(std::atoi(v), 1, 16);
    return st;
  }();
  return *s;
}

thread_local cudaError_t last_error = cudaSuccess;
thread_local std::string last_detail;

cudaError_t fail(cudaError_t err, std::string detail = {}) {
  last_error = err;
  last_detail = std::move(detail);
  return err;
}

cudaError_t sticky_or(cudaError_t err) {
  State& s = state();
  std::lock_guard lock(s.m);
  if (s.sticky != cudaSuccess) return fail(s.sticky, s.sticky_detail);
  return err;
}

void make_sticky(cudaError_t err, const std::string& detail) {
  State& s = state();
  std::lock_guard lock(s.m);
  if (s.sticky == cudaSuccess) {
    s.sticky = err;
    s.sticky_detail = detail;
  }
}

void worker_loop(CUstream_st* st) {
  for (;;) {
    std::function<void()> op;
    {
      std::unique_lock lock(st->m);
      st->cv.wait(lock, [&] { return !st->queue.empty(); });
      op = std::move(st->queue.front());
      st->queue.pop_front();
    }
    op();
    {
      std::lock_guard lock(st->m);
      ++st->completed;
    }
    st->cv.notify_all();
  }
}

CUstream_st* new_stream() {
  auto* st = new CUstream_st;
  std::thread(worker_loop, st).detach();  // lives as long as the process, like the stream
  State& s = state();
  std::lock_guard lock(s.m);
  s.streams.push_back(st);
  return st;
}

CUstream_st* resolve(cudaStream_t stream) {
  if (stream) return stream;
  static CUstream_st* legacy = new_stream();  // the legacy default stream, made on first use
  return legacy;
}

uint64_t enqueue(CUstream_st* st, std::function<void()> op, cudaGraphNodeType kind = cudaGraphNodeTypeKernel) {
  uint64_t position;
  {
    std::lock_guard lock(st->m);
    if (st->capture) {  // recorded, not run: a graph launch replays it
      st->capture->push_back({kind, std::move(op)});
      return 0;
    }
    st->queue.push_back(std::move(op));
    position = ++st->queued;
  }
  st->cv.notify_all();
  return position;
}

// Marks the capture of `st` as invalidated (its end then returns cudaErrorStreamCaptureInvalidated
// and no graph); false where `st` is not being captured.
bool spoil_capture(CUstream_st* st) {
  std::lock_guard lock(st->m);
  if (!st->capture) return false;
  st->capture_invalidated = true;
  return true;
}

// What the emulated capture cannot record (events, waits, frees), queued on a captured stream
// from any thread: refused, and the capture is invalidated.
bool refused_on_captured(CUstream_st* st, const char* what) {
  if (!spoil_capture(st)) return false;
  fail(cudaErrorStreamCaptureUnsupported, std::string(what) + " on a captured stream (not emulated)");
  return true;
}

// A call that waits for the device or allocates, from the thread that captures a stream: refused
// as CUDA refuses it, and the capture is invalidated.
bool refused_in_capture(const char* what) {
  if (!capturing) return false;
  spoil_capture(capturing);
  fail(cudaErrorStreamCaptureUnsupported,
       std::string(what) + " while this thread captures a stream (a captured step must not wait for the device or "
                           "allocate)");
  return true;
}

void wait_for(CUstream_st* st, uint64_t position) {
  std::unique_lock lock(st->m);
  st->cv.wait(lock, [&] { return st->completed >= position; });
}

// Waits for everything queued on every stream so far: cudaDeviceSynchronize, and at exit. A
// process may exit with kernels queued or running, as a CUDA program may: the streams finish them
// first. Registered when the state is made, this runs before the destruction of the statics made
// earlier and before the leak check (whose report would name what only a suspended fiber still
// holds); a stream worker must not run on while what it uses is destroyed.
void finish_every_stream() {
  State& s = state();
  std::vector<CUstream_st*> streams;
  {
    std::lock_guard lock(s.m);
    streams = s.streams;
  }
  for (CUstream_st* st : streams) {
    uint64_t last;
    {
      std::lock_guard lock(st->m);
      last = st->queued;
    }
    wait_for(st, last);
  }
}

Space space_of(const void* p) {
  State& s = state();
  std::lock_guard lock(s.m);
  const auto u = reinterpret_cast<uintptr_t>(p);
  auto it = s.allocations.upper_bound(u);
  if (it == s.allocations.begin()) return Space::Pageable;
  --it;
  return u < it->first + std::max<size_t>(it->second.bytes, 1) ? it->second.space : Space::Pageable;
}

void* allocate(size_t bytes, Space space) {
  void* p = ::operator new(std::max<size_t>(bytes, 1), std::align_val_t(256), std::nothrow);
  if (!p) return nullptr;
  std::memset(p, kPoison, bytes);
  State& s = state();
  std::lock_guard lock(s.m);
  s.allocations[reinterpret_cast<uintptr_t>(p)] = Allocation{bytes, space};
  if (space == Space::Device) s.device_used += bytes;
  return p;
}

// Returns false for a pointer that is not a live allocation of `space`.
bool release(void* p, Space space) {
  State& s = state();
  size_t bytes;
  {
    std::lock_guard lock(s.m);
    auto it = s.allocations.find(reinterpret_cast<uintptr_t>(p));
    if (it == s.allocations.end() || it->second.space != space) return false;
    bytes = it->second.bytes;
    s.allocations.erase(it);
    if (space == Space::Device) s.device_used -= bytes;
  }
  std::memset(p, kPoison, bytes);
  ::operator delete(p, std::align_val_t(256));
  return true;
}

bool device_ok() { return state().visible; }

thread_local int current_device = 0;  // cudaSetDevice is per host thread, as in CUDA

cudaError_t check_device(int device) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  return device >= 0 && device < state().devices ? cudaSuccess : fail(cudaErrorInvalidDevice);
}

}  // namespace

thread_local CUstream_st* capturing = nullptr;
CUstream_st* stream_of(cudaStream_t stream) { return resolve(stream); }
uint64_t enqueue_op(CUstream_st* st, std::function<void()> op) { return enqueue(st, std::move(op)); }
cudaError_t report(cudaError_t err, std::string detail) { return fail(err, std::move(detail)); }

cudaError_t func_set_attribute(const void* kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > 227 * 1024)
    return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: dynamic shared memory above 227 KiB");
  State& s = state();
  std::lock_guard lock(s.m);
  s.max_dynamic_shared[kernel] = value;
  return cudaSuccess;
}

int max_dynamic_shared(const void* kernel) {
  State& s = state();
  std::lock_guard lock(s.m);
  auto it = s.max_dynamic_shared.find(kernel);
  return it == s.max_dynamic_shared.end() ? 48 * 1024 : it->second;
}

void submit(const LaunchSpec& spec, std::function<void()> thread_body) {
  if (!device_ok()) {
    fail(cudaErrorNoDevice);
    return;
  }
  if (sticky_or(cudaSuccess) != cudaSuccess) return;
  std::string detail;
  CUstream_st* st = resolve(spec.stream);
  if (check_launch(spec, detail) != cudaSuccess) {
    spoil_capture(st);  // as CUDA: the graph would lack the kernel
    fail(cudaErrorInvalidConfiguration, detail);
    return;
  }
  {
    std::lock_guard lock(st->m);
    if (!st->capture) ++st->launches;  // a captured launch runs, and counts, as its graph
  }
  enqueue(st, [spec, body = std::move(thread_body)] {
    State& s = state();
    {
      std::lock_guard lock(s.m);
      if (s.sticky != cudaSuccess) return;  // the context is lost: later kernels do not run
    }
    std::string why;
    cudaError_t err;
    {
      std::lock_guard lock(s.kernel);
      err = run_grid(spec, body, why);
    }
    if (err != cudaSuccess) make_sticky(err, why);
  });
}

bool is_device_memory(const void* p, size_t bytes) {
  State& s = state();
  std::lock_guard lock(s.m);
  const auto u = reinterpret_cast<uintptr_t>(p);
  auto it = s.allocations.upper_bound(u);
  if (it == s.allocations.begin()) return false;
  --it;
  return it->second.space == Space::Device && u + bytes <= it->first + it->second.bytes;
}

int64_t device_allocations() { return device_allocation_total.load(); }
int64_t host_waits() { return host_wait_total; }

int64_t launch_count(cudaStream_t stream) {
  CUstream_st* st = resolve(stream);
  std::lock_guard lock(st->m);
  return st->launches;
}

const char* last_error_detail() { return last_detail.c_str(); }

}  // namespace cuseg::emu

using namespace cuseg::emu;

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
#define CUSEG_EMU_NAME(e) \
  case e: return #e;
    CUSEG_EMU_NAME(cudaSuccess)
    CUSEG_EMU_NAME(cudaErrorInvalidValue)
    CUSEG_EMU_NAME(cudaErrorMemoryAllocation)
    CUSEG_EMU_NAME(cudaErrorInitializationError)
    CUSEG_EMU_NAME(cudaErrorCudartUnloading)
    CUSEG_EMU_NAME(cudaErrorInvalidConfiguration)
    CUSEG_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    CUSEG_EMU_NAME(cudaErrorNoDevice)
    CUSEG_EMU_NAME(cudaErrorInvalidDevice)
    CUSEG_EMU_NAME(cudaErrorInvalidResourceHandle)
    CUSEG_EMU_NAME(cudaErrorIllegalState)
    CUSEG_EMU_NAME(cudaErrorNotReady)
    CUSEG_EMU_NAME(cudaErrorIllegalAddress)
    CUSEG_EMU_NAME(cudaErrorLaunchOutOfResources)
    CUSEG_EMU_NAME(cudaErrorLaunchTimeout)
    CUSEG_EMU_NAME(cudaErrorAssert)
    CUSEG_EMU_NAME(cudaErrorMisalignedAddress)
    CUSEG_EMU_NAME(cudaErrorLaunchFailure)
    CUSEG_EMU_NAME(cudaErrorStreamCaptureUnsupported)
    CUSEG_EMU_NAME(cudaErrorStreamCaptureInvalidated)
    CUSEG_EMU_NAME(cudaErrorStreamCaptureWrongThread)
    CUSEG_EMU_NAME(cudaErrorUnknown)
#undef CUSEG_EMU_NAME
  }
  return "cudaErrorUnknown";
}

// CUDA's own words for each error.
const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorCudartUnloading: return "driver shutting down";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchTimeout: return "the launch timed out and was terminated";
    case cudaErrorAssert: return "device-side assert triggered";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  const cudaError_t sticky = sticky_or(cudaSuccess);
  if (sticky != cudaSuccess) return sticky;  // sticky errors are never cleared
  const cudaError_t err = last_error;
  last_error = cudaSuccess;
  return err;
}
cudaError_t cudaPeekAtLastError() {
  const cudaError_t sticky = sticky_or(cudaSuccess);
  return sticky != cudaSuccess ? sticky : last_error;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = device_ok() ? state().devices : 0;
  return device_ok() ? cudaSuccess : fail(cudaErrorNoDevice);
}
cudaError_t cudaSetDevice(int device) {
  if (const cudaError_t err = check_device(device); err != cudaSuccess) return err;
  current_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = current_device;
  return device_ok() ? cudaSuccess : fail(cudaErrorNoDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (check_device(device) != cudaSuccess) return last_error;
  *prop = cudaDeviceProp{};
  std::strncpy(prop->name, "cuseg emulated H100 SXM (CPU threads)", sizeof(prop->name) - 1);
  prop->totalGlobalMem = state().capacity;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->sharedMemPerMultiprocessor = 228 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->multiProcessorCount = 132;
  prop->major = 9;
  prop->minor = 0;
  prop->l2CacheSize = 50 * 1024 * 1024;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetPCIBusId(char* bus_id, int length, int device) {
  if (check_device(device) != cudaSuccess) return last_error;
  if (!bus_id || length < 13) return fail(cudaErrorInvalidValue);
  std::snprintf(bus_id, size_t(length), "0000:%02x:00.0", 0x18 + device);  // one bus per emulated device
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) return last_error;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: *value = p.maxThreadsDim[0]; break;
    case cudaDevAttrMaxBlockDimY: *value = p.maxThreadsDim[1]; break;
    case cudaDevAttrMaxBlockDimZ: *value = p.maxThreadsDim[2]; break;
    case cudaDevAttrMaxGridDimX: *value = p.maxGridSize[0]; break;
    case cudaDevAttrMaxGridDimY: *value = p.maxGridSize[1]; break;
    case cudaDevAttrMaxGridDimZ: *value = p.maxGridSize[2]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = int(p.sharedMemPerBlock); break;
    case cudaDevAttrWarpSize: *value = p.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = int(p.sharedMemPerMultiprocessor); break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = int(p.sharedMemPerBlockOptin); break;
    default: return fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  if (refused_in_capture("cudaDeviceSynchronize")) return last_error;
  ++host_wait_total;
  finish_every_stream();
  return sticky_or(cudaSuccess);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  *stream = new_stream();
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  // The worker and its queue stay (a destroyed stream still finishes its work); the handle is
  // simply no longer used.
  return stream ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  if (refused_in_capture("cudaStreamSynchronize")) return last_error;
  ++host_wait_total;
  CUstream_st* st = resolve(stream);
  uint64_t position;
  {
    std::lock_guard lock(st->m);
    position = st->queued;
  }
  wait_for(st, position);
  return sticky_or(cudaSuccess);
}
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (refused_in_capture("cudaStreamQuery")) return last_error;
  CUstream_st* st = resolve(stream);
  std::lock_guard lock(st->m);
  return st->completed == st->queued ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  if (refused_in_capture("cudaStreamWaitEvent (events in a capture are not emulated)")) return last_error;
  if (!event->stream) return cudaSuccess;  // never recorded: nothing to wait for
  if (refused_on_captured(resolve(stream), "cudaStreamWaitEvent")) return last_error;
  CUstream_st* other = event->stream;
  const uint64_t position = event->position;
  enqueue(resolve(stream), [other, position] { wait_for(other, position); });
  return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* user_data) {
  if (!fn) return fail(cudaErrorInvalidValue);
  if (const cudaError_t err = sticky_or(cudaSuccess); err != cudaSuccess) return err;
  enqueue(resolve(stream), [fn, user_data] { fn(user_data); }, cudaGraphNodeTypeHost);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  *event = new CUevent_st;
  (*event)->flags = flags;
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  if (event->stream) wait_for(event->stream, event->position);  // its marker may still be queued
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  if (refused_in_capture("cudaEventRecord (events in a capture are not emulated)")) return last_error;
  CUstream_st* st = resolve(stream);
  if (refused_on_captured(st, "cudaEventRecord")) return last_error;
  if (event->stream) wait_for(event->stream, event->position);  // the previous marker is done with it
  event->stream = st;
  event->position = enqueue(st, [event] { event->when = Clock::now(); });
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  if (refused_in_capture("cudaEventSynchronize")) return last_error;
  ++host_wait_total;
  if (event->stream) wait_for(event->stream, event->position);
  return sticky_or(cudaSuccess);
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  if (!event->stream) return cudaSuccess;
  std::lock_guard lock(event->stream->m);
  return event->stream->completed >= event->position ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start || !end || !start->stream || !end->stream) return fail(cudaErrorInvalidResourceHandle);
  if ((start->flags | end->flags) & cudaEventDisableTiming) return fail(cudaErrorInvalidResourceHandle);
  if (cudaEventQuery(start) != cudaSuccess || cudaEventQuery(end) != cudaSuccess) return fail(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}

cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  if (refused_in_capture("cudaMallocAsync")) return last_error;
  if (const cudaError_t err = sticky_or(cudaSuccess); err != cudaSuccess) return err;
  State& s = state();
  {
    std::lock_guard lock(s.m);
    if (bytes > s.capacity - s.device_used) return fail(cudaErrorMemoryAllocation);
  }
  *ptr = allocate(bytes, Space::Device);
  if (*ptr) ++device_allocation_total;
  return *ptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaMalloc(void** ptr, size_t bytes) { return cudaMallocAsync(ptr, bytes, nullptr); }
cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  if (!ptr) return cudaSuccess;
  if (refused_in_capture("cudaFreeAsync")) return last_error;
  if (space_of(ptr) != Space::Device) return fail(cudaErrorInvalidValue, "cudaFreeAsync: not device memory");
  if (refused_on_captured(resolve(stream), "cudaFreeAsync")) return last_error;
  // Stream-ordered: the memory stays valid for the work queued before the free.
  enqueue(resolve(stream), [ptr] { release(ptr, Space::Device); });
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (refused_in_capture("cudaFree")) return last_error;
  cudaDeviceSynchronize();
  return release(ptr, Space::Device) ? cudaSuccess : fail(cudaErrorInvalidValue);
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (refused_in_capture("cudaMallocHost")) return last_error;
  *ptr = allocate(bytes, Space::Pinned);
  return *ptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  return release(ptr, Space::Pinned) ? cudaSuccess : fail(cudaErrorInvalidValue);
}
cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  State& s = state();
  std::lock_guard lock(s.m);
  *total = s.capacity;
  *free = s.capacity - s.device_used;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  if (check_device(device) != cudaSuccess) return last_error;
  *pool = &state().pool;
  return cudaSuccess;
}
// Freed memory goes straight back to the host allocator, so there is never anything to trim.
cudaError_t cudaMemPoolTrimTo(cudaMemPool_t pool, size_t) { return pool ? cudaSuccess : fail(cudaErrorInvalidValue); }
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  if (!pool || attr != cudaMemPoolAttrReleaseThreshold) return fail(cudaErrorInvalidValue);
  std::lock_guard lock(state().m);
  pool->release_threshold = *static_cast<uint64_t*>(value);
  return cudaSuccess;
}
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  if (!pool) return fail(cudaErrorInvalidValue);
  std::lock_guard lock(state().m);
  switch (attr) {
    case cudaMemPoolAttrReleaseThreshold: *static_cast<uint64_t*>(value) = pool->release_threshold; break;
    case cudaMemPoolAttrReservedMemCurrent:
    case cudaMemPoolAttrUsedMemCurrent: *static_cast<uint64_t*>(value) = state().device_used; break;
  }
  return cudaSuccess;
}

namespace {

// What the pointers say a copy is, checked against the kind the caller gave (cudaMemcpyDefault:
// anything goes, as with unified addressing).
cudaError_t copy_spaces(void* dst, const void* src, cudaMemcpyKind kind, Space& ds, Space& ss) {
  ds = space_of(dst);
  ss = space_of(src);
  const bool dst_dev = ds == Space::Device, src_dev = ss == Space::Device;
  switch (kind) {
    case cudaMemcpyHostToHost: return !dst_dev && !src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyHostToDevice: return dst_dev && !src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToHost: return !dst_dev && src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToDevice: return dst_dev && src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDefault: return cudaSuccess;
  }
  return cudaErrorInvalidMemcpyDirection;
}

}  // namespace

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  if (bytes == 0) return cudaSuccess;
  Space ds, ss;
  if (copy_spaces(dst, src, kind, ds, ss) != cudaSuccess)
    return fail(cudaErrorInvalidValue, "cudaMemcpyAsync: pointers do not match the copy kind");
  if ((ss == Space::Pageable || ds == Space::Pageable) && refused_in_capture("a copy to or from pageable memory"))
    return last_error;
  CUstream_st* st = resolve(stream);
  if (ss == Space::Pageable) {
    // CUDA stages pageable sources before returning: the caller may reuse the buffer at once.
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                                static_cast<const unsigned char*>(src) + bytes);
    enqueue(st, [dst, staged] { std::memcpy(dst, staged->data(), staged->size()); }, cudaGraphNodeTypeMemcpy);
  } else {
    enqueue(st, [dst, src, bytes] { std::memcpy(dst, src, bytes); }, cudaGraphNodeTypeMemcpy);
  }
  // A copy into pageable memory returns once the data is there; into pinned memory it is
  // asynchronous, and reading it before a synchronization is a race.
  if (ds == Space::Pageable) return cudaStreamSynchronize(st);
  return sticky_or(cudaSuccess);
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (refused_in_capture("cudaMemcpy")) return last_error;
  if (const cudaError_t err = cudaMemcpyAsync(dst, src, bytes, kind, nullptr); err != cudaSuccess) return err;
  return cudaStreamSynchronize(nullptr);
}
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t stream) {
  if (check_device(dst_device) != cudaSuccess || check_device(src_device) != cudaSuccess) return last_error;
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream);
}
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
  if (!device_ok()) return fail(cudaErrorNoDevice);
  if (bytes == 0) return cudaSuccess;
  if (space_of(ptr) != Space::Device) return fail(cudaErrorInvalidValue, "cudaMemsetAsync: not device memory");
  enqueue(resolve(stream), [ptr, value, bytes] { std::memset(ptr, value, bytes); }, cudaGraphNodeTypeMemset);
  return sticky_or(cudaSuccess);
}
cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (refused_in_capture("cudaMemset")) return last_error;
  if (const cudaError_t err = cudaMemsetAsync(ptr, value, bytes, nullptr); err != cudaSuccess) return err;
  return cudaStreamSynchronize(nullptr);
}
