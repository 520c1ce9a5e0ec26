#include "cuseg/dist/communicator.h"

#include <unistd.h>

#include <algorithm>

#include "cuseg/config.h"
#include "cuseg/core/device.h"
#include "cuseg/dist/gradient_sum.h"
#include "cuseg/dist/mpi_communicator.h"
#include "cuseg/dist/nccl_communicator.h"

namespace cuseg {

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string description() const override { return "single process"; }
  void allreduce_sum(float*, size_t, const std::string&) override {}
  void allreduce_sum(double*, size_t, const std::string&) override {}
  std::vector<uint64_t> allgather(uint64_t value, const std::string&) override { return {value}; }
  void broadcast(void*, size_t, int, const std::string&) override {}
};

// One bucket: consecutive tensors of one dtype, packed into a host buffer, summed, unpacked.
template <typename T>
void reduce_bucket(Communicator& comm, const std::vector<Tensor*>& bucket, const std::string& what) {
  int64_t n = 0;
  for (const Tensor* t : bucket) n += t->numel();
  Tensor host = Tensor::empty(Shape{n}, dtype_of<T>());
  int64_t offset = 0;
  for (const Tensor* t : bucket) {
    host.view(t->shape(), offset).copy_from(*t);
    offset += t->numel();
  }
  comm.allreduce_sum(host.data<T>(), size_t(n), what);
  offset = 0;
  for (Tensor* t : bucket) {
    t->copy_from(host.view(t->shape(), offset));
    offset += t->numel();
  }
}

// After the backward, through host buckets (allreduce_sum's default size).
class HostGradientSum final : public GradientSum {
 public:
  HostGradientSum(Communicator& comm, std::vector<Tensor*> gradients) : comm_(comm), gradients_(std::move(gradients)) {}
  void finish(const std::string& what) override { allreduce_sum(comm_, gradients_, what); }
  std::string description() const override { return "gradients summed through the host"; }

 private:
  Communicator& comm_;
  std::vector<Tensor*> gradients_;
};

// Which machine and physical GPU (its PCI bus id, not its number, which CUDA_VISIBLE_DEVICES
// may make 0 on every rank): equal for two ranks exactly when they would share a GPU. 0 for a
// rank that does not train on a GPU.
uint64_t gpu_identity(const Device& device) {
  if (!device.is_cuda()) return 0;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return hash64(str_cat(host, "/", cuda_device_bus_id(device.index))) | 1;
}

}  // namespace

std::unique_ptr<GradientSum> Communicator::gradient_sum(std::vector<Tensor*> gradients) {
  return std::make_unique<HostGradientSum>(*this, std::move(gradients));
}

bool nccl_available() { return CUSEG_HAS_NCCL != 0; }

std::shared_ptr<Communicator> communicator_for(std::shared_ptr<Communicator> ranks, const Device& device,
                                               const std::string& choice) {
  CUSEG_CHECK(choice == "auto" || choice == "nccl" || choice == "mpi", "--collectives must be auto, nccl or mpi, not '",
              choice, "'");
  // "nccl" on one process too: one rank's sums are the identity, but NCCL and the overlap run.
  if (choice == "mpi" || (choice == "auto" && ranks->size() == 1)) return ranks;
  const std::string refused = str_cat("rank ", ranks->rank(), ": --collectives nccl: ");
  if (!nccl_available()) {
    CUSEG_CHECK(choice == "auto", refused, "this build has no NCCL (CUSEG_NCCL; it needs CUDA and MPI)");
    return ranks;
  }
  // Every rank decides from the same list, or some would wait for NCCL and others not.
  const std::vector<uint64_t> gpus = ranks->allgather(gpu_identity(device), "the check of each rank's GPU");
  for (size_t a = 0; a < gpus.size(); ++a) {
    if (gpus[a] == 0) {
      CUSEG_CHECK(choice == "auto", refused, "rank ", a, " does not train on a GPU, and NCCL sums GPU tensors");
      return ranks;
    }
    for (size_t b = a + 1; b < gpus.size(); ++b)
      if (gpus[a] == gpus[b]) {
        CUSEG_CHECK(choice == "auto", refused, "ranks ", a, " and ", b,
                    " share a GPU: NCCL needs a GPU per rank (--collectives mpi sums through the host)");
        return ranks;
      }
  }
#if CUSEG_HAS_NCCL
  return nccl_communicator(std::move(ranks), device.index);
#else
  return ranks;
#endif
}

std::shared_ptr<Communicator> single_process() { return std::make_shared<SingleProcess>(); }

bool mpi_available() { return CUSEG_HAS_MPI != 0; }

std::shared_ptr<Communicator> world() {
  static const std::shared_ptr<Communicator> w = [] {
#if CUSEG_HAS_MPI
    if (launched_by_mpi()) return mpi_world();
#endif
    return single_process();
  }();
  return w;
}

void allreduce_sum(Communicator& comm, const std::vector<Tensor*>& tensors, const std::string& what,
                   size_t bucket_bytes) {
  if (comm.size() == 1) return;
  std::vector<Tensor*> bucket;
  size_t bytes = 0;
  auto flush = [&] {
    if (bucket.empty()) return;
    if (bucket[0]->dtype() == DType::F32) reduce_bucket<float>(comm, bucket, what);
    else reduce_bucket<double>(comm, bucket, what);
    bucket.clear();
    bytes = 0;
  };
  for (Tensor* t : tensors) {
    CUSEG_CHECK(t->dtype() == DType::F32 || t->dtype() == DType::F64, what, ": cannot sum ", t->str(),
                " over ranks (f32 or f64 only)");
    if (!bucket.empty() && (bucket[0]->dtype() != t->dtype() || bytes + t->nbytes() > bucket_bytes)) flush();
    bucket.push_back(t);
    bytes += t->nbytes();
  }
  flush();
}

std::vector<std::string> allgather_strings(Communicator& comm, const std::string& value, const std::string& what) {
  const std::vector<uint64_t> sizes = comm.allgather(value.size(), what);
  const size_t ranks = sizes.size(), longest = size_t(*std::max_element(sizes.begin(), sizes.end()));
  std::vector<std::string> all(ranks);
  if (ranks == 1) all[0] = value;
  if (ranks == 1 || longest == 0) return all;
  // Bytes as doubles: a sum of one byte and zeros is exact.
  std::vector<double> bytes(ranks * longest, 0.0);
  for (size_t i = 0; i < value.size(); ++i)
    bytes[size_t(comm.rank()) * longest + i] = double(static_cast<unsigned char>(value[i]));
  comm.allreduce_sum(bytes.data(), bytes.size(), what);
  for (size_t r = 0; r < ranks; ++r)
    for (size_t i = 0; i < sizes[r]; ++i)
      all[r] += static_cast<char>(static_cast<unsigned char>(bytes[r * longest + i]));
  return all;
}

uint64_t hash64(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

void check_same_on_every_rank(Communicator& comm, const std::string& what, const std::string& value) {
  const std::vector<uint64_t> all = comm.allgather(hash64(value), str_cat("the check of the ", what));
  for (size_t r = 1; r < all.size(); ++r)
    CUSEG_CHECK(all[r] == all[0], "rank ", r, "'s ", what, " differs from rank 0's: every rank must train the same");
}

}  // namespace cuseg
