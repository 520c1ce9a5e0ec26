#include "cuseg/dist/nccl_communicator.h"

#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

#include "cuseg/config.h"
#include "cuseg/core/cuda/runtime.h"
#include "cuseg/dist/gradient_sum.h"
#include "cuseg/dist/mpi_communicator.h"

namespace cuseg {

namespace {

// A bucket's gradients are summed together: few large NCCL calls rather than ~50 small ones,
// small enough that the first starts well before the backward ends. CUSEG_GRADIENT_BUCKET_KB
// overrides the 4 MiB (as DDP's bucket_cap_mb does), e.g. for tests of small networks; rank 0's
// value holds for every rank, since the ranks' buckets must match.
uint64_t bucket_bytes_from_environment() {
  const char* kb = std::getenv("CUSEG_GRADIENT_BUCKET_KB");
  return kb && std::atoll(kb) > 0 ? uint64_t(std::atoll(kb)) << 10 : uint64_t(4) << 20;
}

class NcclCommunicator;

class NcclGradientSum final : public GradientSum {
 public:
  NcclGradientSum(NcclCommunicator& comm, std::vector<Tensor*> gradients);
  ~NcclGradientSum() override;
  void begin() override;
  void ready(size_t i) override;
  void finish(const std::string& what) override;
  std::string description() const override {
    return str_cat("gradients summed on the GPUs in ", buckets_.size(),
                   " bucket(s), overlapped with the backward");
  }

 private:
  struct Bucket {
    size_t first = 0, end = 0;       // gradients_[first, end)
    Tensor flat;                     // f32 on the device: the gradients packed, summed in place
    size_t pending = 0;              // gradients not yet ready in this backward
    cudaEvent_t computed = nullptr;  // on the compute stream: its gradients are final
  };
  void issue(Bucket& b);

  NcclCommunicator& comm_;
  std::vector<Tensor*> gradients_;
  std::vector<size_t> bucket_of_;
  std::vector<Bucket> buckets_;
  size_t next_ = 0;  // buckets are issued in order: every rank's NCCL calls must come in one order
  cudaEvent_t summed_ = nullptr;
};

// The communicator is non-blocking (ncclConfig_t::blocking = 0): NCCL never waits inside a call
// (for a peer to join, to connect on the first sum, to finalize), it says ncclInProgress and is
// polled, so that every wait for the other ranks is bounded by the collective timeout.
class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::shared_ptr<Communicator> host, int device)
      : host_(std::move(host)), device_(device) {
    set_timeout(host_->timeout());
    struct {
      ncclUniqueId id;
      uint64_t bucket_bytes;
    } start{};
    if (host_->rank() == 0) {
      check(ncclGetUniqueId(&start.id), "ncclGetUniqueId");
      start.bucket_bytes = bucket_bytes_from_environment();
    }
    host_->broadcast(&start, sizeof(start), 0, "the broadcast of the NCCL id");
    bucket_bytes_ = size_t(start.bucket_bytes);
    cuda::set_device(device_);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    try {
      const ncclResult_t r =
          ncclCommInitRankConfig(&comm_, host_->size(), start.id, host_->rank(), &config);
      if (r != ncclInProgress) check(r, "ncclCommInitRankConfig");
      settle("the NCCL initialization");
      // Never destroyed, as the compute streams are not (core/cuda/runtime.h).
      CUSEG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    } catch (...) {
      abort();  // no destructor runs for a constructor that throws
      throw;
    }
    int version = 0;
    ncclGetVersion(&version);
    description_ = str_cat("NCCL ", version / 10000, ".", version / 100 % 100, ".", version % 100,
                           CUSEG_CUDA_EMULATED ? " (emulated)" : "",
                           " on each rank's GPU, started over ", host_->description());
  }

  // With the peers alive (a normal end), finalize then destroy; leaving with an error (the others
  // may be gone or stuck), or when finalizing does not complete in time, abort instead.
  // Never throws: it may run while an exception (a CUDA error among them) unwinds.
  ~NcclCommunicator() override {
    if (!comm_) return;
    cudaSetDevice(device_);
    ncclResult_t state = ncclInProgress;
    if (std::uncaught_exceptions() == 0) {
      // NCCL answers with the communicator's state: ncclSuccess when there was nothing to wait for.
      state = ncclCommFinalize(comm_);
      const auto start = std::chrono::steady_clock::now();
      while (state == ncclInProgress &&
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
                 timeout()) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (ncclCommGetAsyncError(comm_, &state) != ncclSuccess) break;
      }
    }
    if (state == ncclSuccess)
      ncclCommDestroy(comm_);
    else
      ncclCommAbort(comm_);
  }

  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  int local_rank() const override { return host_->local_rank(); }
  int local_size() const override { return host_->local_size(); }
  std::string description() const override { return description_; }

  void allreduce_sum(float* data, size_t count, const std::string& what) override {
    host_->set_timeout(timeout());
    host_->allreduce_sum(data, count, what);
  }
  void allreduce_sum(double* data, size_t count, const std::string& what) override {
    host_->set_timeout(timeout());
    host_->allreduce_sum(data, count, what);
  }
  std::vector<uint64_t> allgather(uint64_t value, const std::string& what) override {
    host_->set_timeout(timeout());
    return host_->allgather(value, what);
  }
  void broadcast(void* data, size_t bytes, int root, const std::string& what) override {
    host_->set_timeout(timeout());
    host_->broadcast(data, bytes, root, what);
  }

  std::unique_ptr<GradientSum> gradient_sum(std::vector<Tensor*> gradients) override {
    const bool on_gpu = std::all_of(gradients.begin(), gradients.end(), [&](const Tensor* t) {
      return t->device() == Device::cuda(device_) && t->dtype() == DType::F32;
    });
    if (!on_gpu) return Communicator::gradient_sum(std::move(gradients));
    return std::make_unique<NcclGradientSum>(*this, std::move(gradients));
  }

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  size_t bucket_bytes() const { return bucket_bytes_; }

  // In place on stream(), once NCCL has taken it (which may mean connecting to the other ranks).
  void all_reduce(float* data, size_t count, const std::string& what) {
    CUSEG_CHECK(comm_, "rank ", rank(), ": ", what, ": the NCCL communicator was aborted");
    const ncclResult_t r = ncclAllReduce(data, data, count, ncclFloat32, ncclSum, comm_, stream_);
    if (r != ncclInProgress) check(r, "ncclAllReduce");
    settle(what);
  }

  // Waits for `event` (on stream()) as for a host collective: past the timeout the job ends; an
  // error NCCL reports meanwhile is thrown.
  void wait(cudaEvent_t event, const std::string& what) {
    poll_until_done(
        *this, what,
        [&] {
          const cudaError_t err = cudaEventQuery(event);
          if (err == cudaSuccess) return true;
          if (err != cudaErrorNotReady) CUSEG_CUDA_CHECK(err);
          if (comm_) in_progress(what);  // throws on an error NCCL reports meanwhile
          return false;
        },
        [&] { abort(); });
  }

 private:
  void check(ncclResult_t r, const char* call) {
    if (r == ncclSuccess) return;
    const std::string detail = ncclGetLastError(comm_);
    throw Error(str_cat("rank ", rank(), " of ", size(), ": ", call, ": NCCL: ",
                        ncclGetErrorString(r), detail.empty() ? "" : str_cat(" (", detail, ")")));
  }

  // False once NCCL's state is ncclSuccess; throws (after aborting) on an error.
  bool in_progress(const std::string& what) {
    ncclResult_t state = ncclSuccess;
    check(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
    if (state == ncclInProgress) return true;
    if (state != ncclSuccess) {
      const std::string detail = ncclGetLastError(comm_);
      abort();
      throw Error(str_cat("rank ", rank(), " of ", size(), ": ", what,
                          ": NCCL: ", ncclGetErrorString(state),
                          detail.empty() ? "" : str_cat(" (", detail, ")")));
    }
    return false;
  }

  // Polls until NCCL is no longer in progress, within the collective timeout.
  void settle(const std::string& what) {
    poll_until_done(
        *this, what, [&] { return !in_progress(what); }, [&] { abort(); });
  }

  void abort() {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
  }

  std::shared_ptr<Communicator> host_;
  int device_;
  size_t bucket_bytes_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;  // the sums' own: they overlap with the compute stream's backward
  std::string description_;
};

NcclGradientSum::NcclGradientSum(NcclCommunicator& comm, std::vector<Tensor*> gradients)
    : comm_(comm), gradients_(std::move(gradients)), bucket_of_(gradients_.size()) {
  cuda::set_device(comm_.device());
  size_t bytes = 0;
  for (size_t i = 0; i < gradients_.size(); ++i) {
    if (buckets_.empty() || (bytes > 0 && bytes + gradients_[i]->nbytes() > comm_.bucket_bytes())) {
      buckets_.emplace_back();
      buckets_.back().first = i;
      bytes = 0;
    }
    bytes += gradients_[i]->nbytes();
    buckets_.back().end = i + 1;
    bucket_of_[i] = buckets_.size() - 1;
  }
  for (Bucket& b : buckets_) {
    int64_t n = 0;
    for (size_t i = b.first; i < b.end; ++i) n += gradients_[i]->numel();
    b.flat = Tensor::empty(Shape{n}, DType::F32, Device::cuda(comm_.device()));
    CUSEG_CUDA_CHECK(cudaEventCreateWithFlags(&b.computed, cudaEventDisableTiming));
  }
  CUSEG_CUDA_CHECK(cudaEventCreateWithFlags(&summed_, cudaEventDisableTiming));
  begin();
}

// The buckets are freed in the compute stream's order: it must first wait for what the sums'
// stream may still be doing with them and with the gradients (a backward that threw midway).
// Never throws (errors ignored): it may run while an exception unwinds.
NcclGradientSum::~NcclGradientSum() {
  cudaSetDevice(comm_.device());
  if (cudaEventRecord(summed_, comm_.stream()) == cudaSuccess)
    cudaStreamWaitEvent(cuda::existing_stream(comm_.device()), summed_, 0);
  for (Bucket& b : buckets_) cudaEventDestroy(b.computed);
  cudaEventDestroy(summed_);
}

void NcclGradientSum::begin() {
  for (Bucket& b : buckets_) b.pending = b.end - b.first;
  next_ = 0;
}

void NcclGradientSum::ready(size_t i) {
  CUSEG_CHECK(i < gradients_.size(), "gradient sum: no gradient ", i);
  Bucket& b = buckets_[bucket_of_[i]];
  CUSEG_CHECK(b.pending > 0, "gradient sum: gradient ", i, " made ready twice in one backward");
  --b.pending;
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) issue(buckets_[next_++]);
}

// On the sums' stream, once the compute stream has made the bucket's gradients: pack, sum in
// place, unpack. The compute stream does not touch these gradients again before finish().
void NcclGradientSum::issue(Bucket& b) {
  const cudaStream_t compute = cuda::stream(comm_.device()), sums = comm_.stream();
  CUSEG_CUDA_CHECK(cudaEventRecord(b.computed, compute));
  CUSEG_CUDA_CHECK(cudaStreamWaitEvent(sums, b.computed, 0));
  float* flat = b.flat.data<float>();
  size_t offset = 0;
  for (size_t i = b.first; i < b.end; ++i) {
    CUSEG_CUDA_CHECK(cudaMemcpyAsync(flat + offset, gradients_[i]->data<float>(),
                                     gradients_[i]->nbytes(), cudaMemcpyDeviceToDevice, sums));
    offset += size_t(gradients_[i]->numel());
  }
  comm_.all_reduce(flat, offset, "the NCCL sum of a gradient bucket");
  offset = 0;
  for (size_t i = b.first; i < b.end; ++i) {
    CUSEG_CUDA_CHECK(cudaMemcpyAsync(gradients_[i]->data<float>(), flat + offset,
                                     gradients_[i]->nbytes(), cudaMemcpyDeviceToDevice, sums));
    offset += size_t(gradients_[i]->numel());
  }
}

void NcclGradientSum::finish(const std::string& what) {
  cuda::set_device(comm_.device());
  // What the backward did not announce (every gradient of a step whose last batch was skipped).
  while (next_ < buckets_.size()) issue(buckets_[next_++]);
  CUSEG_CUDA_CHECK(cudaEventRecord(summed_, comm_.stream()));
  CUSEG_CUDA_CHECK(cudaStreamWaitEvent(cuda::stream(comm_.device()), summed_, 0));
  comm_.wait(summed_, what);
  begin();
}

}  // namespace

std::shared_ptr<Communicator> nccl_communicator(std::shared_ptr<Communicator> host, int device) {
  return std::make_shared<NcclCommunicator>(std::move(host), device);
}

}  // namespace cuseg
