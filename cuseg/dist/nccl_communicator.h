// The NCCL communicator (built where CUSEG_NCCL finds NCCL, or emulates it): internal to
// dist/communicator.cpp, whose communicator_for() decides when a run uses it.
//
// Its host collectives (the loss, the stop agreement, configuration checks, batch-norm sums) stay
// on the MPI communicator it is built on; the gradient sums run on the GPU: gradient_sum() packs
// the gradients, in the order the backward finishes them, into device buckets of a few MB, each
// summed in place by ncclAllReduce on a stream of its own once the compute stream has finished
// its gradients (an event), then copied back; finish() makes the compute stream wait for the last
// bucket and the host poll for it against the collective timeout.
#pragma once

#include <memory>

namespace cuseg {

class Communicator;

// NCCL over the ranks of `host`, this rank on GPU `device`: rank 0's ncclUniqueId broadcast over
// `host`, then ncclCommInitRank on that device.
std::shared_ptr<Communicator> nccl_communicator(std::shared_ptr<Communicator> host, int device);

}  // namespace cuseg
