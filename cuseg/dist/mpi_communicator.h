// The MPI implementation of Communicator (built where CUSEG_MPI finds MPI): internal to
// dist/communicator.cpp, which world() builds on, and to the NCCL communicator, bootstrapped on it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cuseg/dist/communicator.h"

namespace cuseg {

// Whether an MPI launcher (mpirun, srun with PMI) started this process: its environment says so.
bool launched_by_mpi();
// MPI_COMM_WORLD, MPI initialized on the first call and finalized at exit.
std::shared_ptr<Communicator> mpi_world();

// Prints "error: rank R of N: <what> did not complete in T s: another rank died or hangs" and ends
// every rank of the job (MPI_Abort).
[[noreturn]] void abort_job(const Communicator& comm, const std::string& what);

// Calls `done` until it says yes; past comm.timeout() seconds, `before_abort()` then abort_job.
// Spins briefly, then sleeps between polls.
template <class Done, class BeforeAbort = void (*)()>
void poll_until_done(const Communicator& comm, const std::string& what, Done done,
                     BeforeAbort before_abort = [] {}) {
  const auto start = std::chrono::steady_clock::now();
  for (int polls = 0; !done(); ++polls) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > comm.timeout()) {
      before_abort();
      abort_job(comm, what);
    }
    if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace cuseg
