// The processes of a data-parallel run and the collectives between them.
//
// world() is what this process was launched as: under `mpirun -np N` (a build with MPI,
// CUSEG_MPI), one of N ranks talking through MPI; otherwise a single process, whose collectives
// return their input. The trainer (train/trainer.h) needs nothing else: it sums gradients and
// confusion matrices and checks that every rank trains the same thing through this interface.
//
// Collectives take host memory (the MPI implementation's buffers); tensors on a GPU are staged
// through the host by allreduce_sum(tensors) below, unless the gradients are summed on the GPUs
// by NCCL (dist/nccl_communicator.h, dist/gradient_sum.h). Each collective waits at most timeout()
// seconds: a rank that died or hangs makes the others end the job with one line naming the
// waiting rank and the collective, instead of a silent hang.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"

namespace cuseg {

class GradientSum;  // dist/gradient_sum.h

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Among the ranks on this machine (which GPU a rank takes, how many cores it gets).
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  // "single process", "MPI (Open MPI v4.1.4), 2 ranks"
  virtual std::string description() const = 0;

  // In place, the sum over ranks, element by element; `what` names the collective in errors.
  virtual void allreduce_sum(float* data, size_t count, const std::string& what) = 0;
  virtual void allreduce_sum(double* data, size_t count, const std::string& what) = 0;
  // Every rank's `value`, in rank order.
  virtual std::vector<uint64_t> allgather(uint64_t value, const std::string& what) = 0;
  // `bytes` of host memory from rank `root` to every rank.
  virtual void broadcast(void* data, size_t bytes, int root, const std::string& what) = 0;

  // How this communicator sums `gradients` (in the order the backward finishes them) before each
  // step: through the host unless it can do better on their device (NCCL).
  virtual std::unique_ptr<GradientSum> gradient_sum(std::vector<Tensor*> gradients);

  double timeout() const { return timeout_seconds_; }
  void set_timeout(double seconds) { timeout_seconds_ = seconds; }

 private:
  double timeout_seconds_ = 300;
};

// One process: rank 0 of 1, every collective the identity.
std::shared_ptr<Communicator> single_process();

// The ranks this process was launched with: MPI where the build has it and an MPI launcher
// started the process (mpirun sets the environment that says so), else single_process(). MPI
// is initialized on the first call and finalized at exit.
std::shared_ptr<Communicator> world();

// Whether this build can run more than one rank (CUSEG_MPI found MPI).
bool mpi_available();
// Whether it can sum GPU ranks' gradients on the GPUs (CUSEG_NCCL; emulated in the emulated build).
bool nccl_available();

// The communicator GPU ranks on `device` train with, by `choice` (--collectives):
//   "mpi"   `ranks` itself: gradients staged through host memory;
//   "nccl"  `ranks` with NCCL on each rank's GPU for the gradient sums, the NCCL id broadcast over
//           `ranks` (its other collectives stay on `ranks`); refused where NCCL is not built, the
//           device is not a GPU, or two ranks of a machine share a GPU (NCCL needs one per rank);
//   "auto"  "nccl" where it can be on several ranks, else "mpi".
// "nccl" works on a single process too (NCCL's sums of one rank: the path, checked on one GPU).
std::shared_ptr<Communicator> communicator_for(std::shared_ptr<Communicator> ranks, const Device& device,
                                               const std::string& choice);

// The sum over ranks of each tensor, in place (f32 or f64, any device), packed into host
// buckets of at most `bucket_bytes` so that a model's ~50 gradients take a few collectives.
void allreduce_sum(Communicator& comm, const std::vector<Tensor*>& tensors, const std::string& what,
                   size_t bucket_bytes = size_t(16) << 20);

// Every rank's `value`, in rank order (called by every rank, like any collective): the lengths
// through allgather, then the bytes through one sum in which each rank fills its own row.
std::vector<std::string> allgather_strings(Communicator& comm, const std::string& value, const std::string& what);

// Throws, on every rank, when the ranks' `value`s differ (compared by a 64-bit hash): "rank 1's
// <what> differs from rank 0's". For configurations and dataset listings before any step.
void check_same_on_every_rank(Communicator& comm, const std::string& what, const std::string& value);

// FNV-1a: the hash check_same_on_every_rank compares.
uint64_t hash64(const std::string& text);

}  // namespace cuseg
