#include "cuseg/dist/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cuseg/dist/communicator.h"

namespace cuseg {

namespace {

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      // Collectives come from the training thread alone (the loader's workers never call MPI).
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      std::atexit(finalize_at_exit);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local_);
    MPI_Comm_rank(local_, &local_rank_);
    MPI_Comm_size(local_, &local_size_);
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string v(version, size_t(length));
    v = v.substr(0, v.find_first_of(",\n"));
    description_ = str_cat("MPI (", v, "), ", size_, " ranks");
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string description() const override { return description_; }

  void allreduce_sum(float* data, size_t count, const std::string& what) override {
    reduce(data, count, MPI_FLOAT, sizeof(float), what);
  }
  void allreduce_sum(double* data, size_t count, const std::string& what) override {
    reduce(data, count, MPI_DOUBLE, sizeof(double), what);
  }
  std::vector<uint64_t> allgather(uint64_t value, const std::string& what) override {
    std::vector<uint64_t> all(size_t(size_), 0);
    MPI_Request request;
    MPI_Iallgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD, &request);
    wait(request, what);
    return all;
  }
  void broadcast(void* data, size_t bytes, int root, const std::string& what) override {
    CUSEG_CHECK(bytes <= size_t(INT_MAX), what, ": ", bytes, " bytes is more than one MPI broadcast takes");
    MPI_Request request;
    MPI_Ibcast(data, int(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &request);
    wait(request, what);
  }

 private:
  void reduce(void* data, size_t count, MPI_Datatype type, size_t element, const std::string& what) {
    char* p = static_cast<char*>(data);
    while (count > 0) {  // MPI counts are ints
      const int n = int(std::min<size_t>(count, size_t(INT_MAX)));
      MPI_Request request;
      MPI_Iallreduce(MPI_IN_PLACE, p, n, type, MPI_SUM, MPI_COMM_WORLD, &request);
      wait(request, what);
      p += size_t(n) * element;
      count -= size_t(n);
    }
  }

  // A blocking collective would wait forever for a rank that hangs: poll instead, and past the
  // timeout end the whole job, since no collective can complete without that rank.
  void wait(MPI_Request& request, const std::string& what) {
    poll_until_done(*this, what, [&] {
      int done = 0;
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      return done != 0;
    });
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm local_ = MPI_COMM_NULL;
  std::string description_;
};

}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

std::shared_ptr<Communicator> mpi_world() { return std::make_shared<MpiCommunicator>(); }

void abort_job(const Communicator& comm, const std::string& what) {
  std::fprintf(stderr, "error: rank %d of %d: %s did not complete in %g s: another rank died or hangs "
               "(--collective-timeout)\n", comm.rank(), comm.size(), what.c_str(), comm.timeout());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);  // MPI_Abort does not return; the compiler cannot know
}

}  // namespace cuseg
