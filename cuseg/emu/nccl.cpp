// The emulated NCCL (include/nccl.h): the ranks of one communicator are processes on this machine
// that map one POSIX shared-memory segment, named by the unique id. An all-reduce is a host
// function queued on the caller's stream, so it runs in stream order on the stream's worker and
// overlaps with what other streams do, as NCCL's kernel does on a device; it goes through the
// buffer in chunks: each rank copies its chunk into its slot, all meet at a barrier, each sums
// the slots in rank order into its output, all meet again before the slots are reused.
// Initialization and finalization are polled (ncclCommGetAsyncError brings them up to date), so
// a non-blocking communicator never waits inside a call, as with NCCL's.
#include <fcntl.h>
#include <nccl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "cuseg/emu/emulator.h"

namespace {

constexpr int kMaxRanks = 64;
constexpr size_t kSlotBytes = size_t(1) << 20;  // per rank: the chunk an all-reduce moves at a time

// At the start of the segment; zero-filled when the segment is created.
struct Header {
  std::atomic<int> attached;
  std::atomic<int> finalized;                   // ranks that called ncclCommFinalize
  std::atomic<int> device_plus_one[kMaxRanks];  // each rank's CUDA device + 1; 0 until known
  std::atomic<uint64_t> arrivals;               // every rank's barrier arrivals, ever
};
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the header's atomics are shared between processes: they must be lock-free");

ncclResult_t set_error(ncclComm_t comm, ncclResult_t result, std::string message);

}  // namespace

struct ncclComm {
  int rank = 0, nranks = 1, device = 0;
  Header* header = nullptr;
  char* slots = nullptr;  // nranks slots of kSlotBytes after the header
  size_t mapped_bytes = 0;
  std::string name;                  // of the segment, until rank 0 unlinks it
  std::atomic<bool> joining{false};  // initialization: waiting for every rank to attach
  std::atomic<bool> finalizing{false};
  uint64_t barriers = 0;       // passed by this rank (only its stream workers touch it, in order)
  std::atomic<int> queued{0};  // all-reduces queued and not yet ended
  std::atomic<bool> aborted{false};
  std::atomic<int> async_error{ncclSuccess};
  std::string last_error;
};

namespace {

thread_local std::string last_global_error;

ncclResult_t set_error(ncclComm_t comm, ncclResult_t result, std::string message) {
  std::fprintf(stderr, "cuseg emulated NCCL: %s\n", message.c_str());
  (comm ? comm->last_error : last_global_error) = std::move(message);
  return result;
}

size_t segment_bytes(int nranks) { return sizeof(Header) + size_t(nranks) * kSlotBytes; }

size_t element_bytes(ncclDataType_t type) {
  switch (type) {
    case ncclFloat32:
      return 4;
    case ncclFloat64:
      return 8;
    default:
      return 0;
  }
}

// Spins, then sleeps: ranks share the machine's few cores with the kernels' threads.
template <class Done>
bool wait_until(ncclComm_t comm, Done done) {
  for (int spins = 0; !done(); ++spins) {
    if (comm->aborted.load()) return false;
    if (spins < 64)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(spins < 4096 ? 20 : 200));
  }
  return true;
}

// The k-th barrier of a communicator is passed once every rank has arrived k times.
bool barrier(ncclComm_t comm) {
  const uint64_t target = ++comm->barriers * uint64_t(comm->nranks);
  comm->header->arrivals.fetch_add(1, std::memory_order_acq_rel);
  return wait_until(
      comm, [&] { return comm->header->arrivals.load(std::memory_order_acquire) >= target; });
}

template <typename T>
void sum_slots(ncclComm_t comm, T* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    T sum = reinterpret_cast<const T*>(comm->slots)[i];
    for (int r = 1; r < comm->nranks; ++r)
      sum += reinterpret_cast<const T*>(comm->slots + size_t(r) * kSlotBytes)[i];
    out[i] = sum;
  }
}

struct AllReduce {
  ncclComm_t comm;
  const char* send;
  char* recv;
  size_t count;
  ncclDataType_t type;
};

void all_reduce(const AllReduce& op) {
  ncclComm_t comm = op.comm;
  const size_t element = element_bytes(op.type), per_chunk = kSlotBytes / element;
  for (size_t done = 0; done < op.count; done += per_chunk) {
    const size_t n = std::min(per_chunk, op.count - done);
    std::memcpy(comm->slots + size_t(comm->rank) * kSlotBytes, op.send + done * element,
                n * element);
    if (!barrier(comm)) return;
    if (op.type == ncclFloat32)
      sum_slots(comm, reinterpret_cast<float*>(op.recv + done * element), n);
    else
      sum_slots(comm, reinterpret_cast<double*>(op.recv + done * element), n);
    if (!barrier(comm)) return;
  }
}

void run_all_reduce(void* data) {
  const AllReduce op = *static_cast<AllReduce*>(data);
  delete static_cast<AllReduce*>(data);
  all_reduce(op);
  op.comm->queued.fetch_sub(1);
}

// Initialization is done once every rank has attached; then rank 0 unlinks the segment (every
// rank has it mapped), and two ranks on one device are refused, as NCCL refuses them.
ncclResult_t join(ncclComm_t comm) {
  if (comm->header->attached.load() < comm->nranks) return ncclInProgress;
  comm->joining = false;
  if (comm->rank == 0) shm_unlink(comm->name.c_str());
  for (int r = 0; r < comm->nranks; ++r)
    if (r != comm->rank && comm->header->device_plus_one[r].load() == comm->device + 1)
      return set_error(comm, ncclInvalidUsage,
                       "Duplicate GPU detected: rank " + std::to_string(std::min(r, comm->rank)) +
                           " and rank " + std::to_string(std::max(r, comm->rank)) +
                           " both on CUDA device " + std::to_string(comm->device));
  return ncclSuccess;
}

// The state ncclCommGetAsyncError reports, brought up to date. Finalization completes once every
// rank has finalized and this one's operations have ended: globally quiescent, as NCCL waits for.
// An abort from another thread meanwhile wins (the exchange happens only from ncclInProgress).
ncclResult_t state(ncclComm_t comm) {
  int now = comm->async_error.load();
  if (now != ncclInProgress) return ncclResult_t(now);
  ncclResult_t next = ncclInProgress;
  if (comm->joining.load())
    next = join(comm);
  else if (comm->finalizing.load() && comm->queued.load() == 0 &&
           comm->header->finalized.load() == comm->nranks)
    next = ncclSuccess;
  if (next != ncclInProgress && !comm->async_error.compare_exchange_strong(now, next))
    return ncclResult_t(now);
  return next;
}

}  // namespace

ncclResult_t ncclGetVersion(int* version) {
  if (!version) return ncclInvalidArgument;
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess:
      return "no error";
    case ncclUnhandledCudaError:
      return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError:
      return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError:
      return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument:
      return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage:
      return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError:
      return "remote process exited or there was a network error";
    case ncclInProgress:
      return "NCCL operation in progress";
  }
  return "unknown result code";
}

const char* ncclGetLastError(ncclComm_t comm) {
  return (comm ? comm->last_error : last_global_error).c_str();
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (!id) return ncclInvalidArgument;
  std::memset(id->internal, 0, sizeof(id->internal));
  std::random_device random;
  std::snprintf(id->internal, sizeof(id->internal), "/cuseg-emu-nccl-%d-%08x%08x", int(getpid()),
                random(), random());
  return ncclSuccess;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t* out, int nranks, ncclUniqueId id, int rank,
                                    ncclConfig_t* config) {
  if (!out || nranks < 1 || nranks > kMaxRanks || rank < 0 || rank >= nranks ||
      id.internal[0] != '/')
    return set_error(nullptr, ncclInvalidArgument,
                     "ncclCommInitRank: invalid rank, rank count or unique id");
  auto comm = std::make_unique<ncclComm>();
  comm->rank = rank;
  comm->nranks = nranks;
  if (cudaGetDevice(&comm->device) != cudaSuccess)
    return set_error(nullptr, ncclUnhandledCudaError, "ncclCommInitRank: no CUDA device");
  comm->name.assign(id.internal, strnlen(id.internal, sizeof(id.internal)));
  const int fd = shm_open(comm->name.c_str(), O_CREAT | O_RDWR, 0600);
  if (fd < 0)
    return set_error(nullptr, ncclSystemError,
                     "shm_open " + comm->name + ": " + std::strerror(errno));
  comm->mapped_bytes = segment_bytes(nranks);
  // Every rank sizes the segment alike: a second ftruncate to the same size changes nothing.
  void* p = ftruncate(fd, off_t(comm->mapped_bytes)) == 0
                ? mmap(nullptr, comm->mapped_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                : MAP_FAILED;
  close(fd);
  if (p == MAP_FAILED)
    return set_error(nullptr, ncclSystemError,
                     "mapping " + comm->name + ": " + std::strerror(errno));
  comm->header = static_cast<Header*>(p);
  comm->slots = static_cast<char*>(p) + sizeof(Header);
  comm->header->device_plus_one[rank].store(comm->device + 1);
  comm->header->attached.fetch_add(1);
  comm->joining = true;
  comm->async_error.store(ncclInProgress);
  *out = comm.release();
  if (config && config->blocking == 0) return ncclInProgress;
  ncclResult_t result;  // blocking: until every rank has joined, as NCCL's initialization waits
  while ((result = state(*out)) == ncclInProgress)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  return result;
}

ncclResult_t ncclCommInitRank(ncclComm_t* out, int nranks, ncclUniqueId id, int rank) {
  return ncclCommInitRankConfig(out, nranks, id, rank, nullptr);
}

ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  if (!comm) return ncclInvalidArgument;
  if (state(comm) != ncclSuccess)
    return set_error(comm, ncclInvalidUsage, "ncclCommFinalize: the communicator is not ready");
  comm->finalizing = true;
  comm->header->finalized.fetch_add(1);
  comm->async_error.store(ncclInProgress);
  return state(comm);
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (!comm) return ncclInvalidArgument;
  comm->aborted.store(true);
  comm->async_error.store(ncclRemoteError);
  if (comm->joining.load())
    shm_unlink(comm->name.c_str());  // a rank never came: leave nothing behind
  // The queued operations still hold the communicator: it is left mapped and alive, as a process
  // that aborts is about to end.
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclInvalidArgument;
  // Aborted, or an operation still queued holds it: left to the process's end.
  if (comm->aborted.load() || comm->queued.load() > 0) return ncclSuccess;
  munmap(comm->header, comm->mapped_bytes);
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* async_error) {
  if (!comm || !async_error) return ncclInvalidArgument;
  *async_error = state(comm);
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream) {
  if (!comm) return ncclInvalidArgument;
  if (state(comm) != ncclSuccess)
    return set_error(comm, ncclInvalidUsage,
                     "ncclAllReduce: the communicator is initializing, failed or aborted");
  if (op != ncclSum || element_bytes(datatype) == 0)
    return set_error(comm, ncclInvalidArgument,
                     "ncclAllReduce: only ncclSum of ncclFloat32 or ncclFloat64 is emulated");
  const size_t bytes = count * element_bytes(datatype);
  if (count > 0 && (!cuseg::emu::is_device_memory(sendbuff, bytes) ||
                    !cuseg::emu::is_device_memory(recvbuff, bytes)))
    return set_error(comm, ncclInvalidArgument,
                     "ncclAllReduce: a buffer is not device memory of its whole length");
  if (count == 0) return ncclSuccess;
  // Its host function owns one all-reduce's state: a graph could not replay it.
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (stream && cudaStreamIsCapturing(stream, &capture) == cudaSuccess && capture != cudaStreamCaptureStatusNone)
    return set_error(comm, ncclInvalidUsage, "ncclAllReduce into a captured stream is not emulated");
  auto* work = new AllReduce{comm, static_cast<const char*>(sendbuff), static_cast<char*>(recvbuff),
                             count, datatype};
  comm->queued.fetch_add(1);
  if (cudaLaunchHostFunc(stream, run_all_reduce, work) != cudaSuccess) {
    comm->queued.fetch_sub(1);
    delete work;
    return set_error(comm, ncclUnhandledCudaError, "ncclAllReduce: could not queue on the stream");
  }
  return ncclSuccess;
}
