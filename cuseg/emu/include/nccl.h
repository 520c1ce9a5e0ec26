// The emulated CUDA build's <nccl.h>: the part of NCCL's API that cuseg's NCCL communicator
// (cuseg/dist/nccl_communicator.cpp) calls, with NCCL's names and values, implemented in
// cuseg/emu/nccl.cpp over shared memory between the ranks' processes on one machine. It lets the
// communicator's code (the bootstrap over MPI, stream order, overlap with the backward, the
// timeout) run in CI; NCCL itself runs only on a real GPU. A call cuseg does not make is missing
// here, a compile error rather than a silent no-op.
#pragma once

#include <cstddef>

#include "cuseg/emu/runtime_api.h"

#define NCCL_MAJOR 2
#define NCCL_MINOR 28
#define NCCL_PATCH 9
#define NCCL_VERSION(X, Y, Z) \
  (((X) <= 2 && (Y) <= 8) ? (X)*1000 + (Y)*100 + (Z) : (X)*10000 + (Y)*100 + (Z))
#define NCCL_VERSION_CODE NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH)
#define NCCL_UNIQUE_ID_BYTES 128

using ncclComm_t = struct ncclComm*;
struct ncclUniqueId {
  char internal[NCCL_UNIQUE_ID_BYTES];
};

enum ncclResult_t {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
};

enum ncclRedOp_t { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3, ncclAvg = 4 };

enum ncclDataType_t {
  ncclInt8 = 0,
  ncclUint8 = 1,
  ncclInt32 = 2,
  ncclUint32 = 3,
  ncclInt64 = 4,
  ncclUint64 = 5,
  ncclFloat16 = 6,
  ncclFloat32 = 7,
  ncclFloat64 = 8,
  ncclBfloat16 = 9,
};

// Only `blocking` is read: 0 makes initialization, finalization and calls return ncclInProgress
// where they would wait, to be polled with ncclCommGetAsyncError, as NCCL's non-blocking
// communicators do.
struct ncclConfig_t {
  size_t size;
  unsigned int magic;
  unsigned int version;
  int blocking;
};
#define NCCL_CONFIG_UNDEF_INT (-2147483647 - 1)
#define NCCL_CONFIG_INITIALIZER \
  { sizeof(ncclConfig_t), 0xcafebeef, NCCL_VERSION_CODE, NCCL_CONFIG_UNDEF_INT }

ncclResult_t ncclGetVersion(int* version);
const char* ncclGetErrorString(ncclResult_t result);
const char* ncclGetLastError(ncclComm_t comm);
ncclResult_t ncclGetUniqueId(ncclUniqueId* id);
// Collective over the `nranks` callers with the same id; the calling thread's current device is
// the rank's. Two ranks on one device are refused (ncclInvalidUsage), as NCCL refuses them.
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank);
// With config->blocking 0: returns ncclInProgress at once; ncclCommGetAsyncError says when every
// rank has joined (ncclSuccess) or what went wrong.
ncclResult_t ncclCommInitRankConfig(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank,
                                    ncclConfig_t* config);
// The communicator's queued operations end before ncclCommGetAsyncError says ncclSuccess again.
ncclResult_t ncclCommFinalize(ncclComm_t comm);
// Frees the communicator (after ncclCommFinalize, or once nothing is queued on it).
ncclResult_t ncclCommDestroy(ncclComm_t comm);
// Ends this rank's part: operations queued or waiting on its streams return without their result.
ncclResult_t ncclCommAbort(ncclComm_t comm);
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* async_error);
// Queued on `stream`: every rank's `sendbuff` summed (ncclSum; f32 or f64) into every rank's
// `recvbuff` (in place when they are equal), in rank order, so every rank gets the same bits.
ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream);
