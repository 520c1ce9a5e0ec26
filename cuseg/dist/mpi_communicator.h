// The MPI implementation of Communicator (built where CUSEG_MPI finds MPI): internal to
// dist/communicator.cpp, which world() builds on.
#pragma once

#include <memory>

namespace cuseg {

class Communicator;

// Whether an MPI launcher (mpirun, srun with PMI) started this process: its environment says so.
bool launched_by_mpi();
// MPI_COMM_WORLD, MPI initialized on the first call and finalized at exit.
std::shared_ptr<Communicator> mpi_world();

}  // namespace cuseg
