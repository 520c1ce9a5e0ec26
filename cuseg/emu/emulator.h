// Internal to cuseg/emu: what the runtime (runtime.cpp), the block runner (block_runner.cpp) and
// the emulated NCCL (nccl.cpp) share.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "cuseg/emu/launch.h"

namespace cuseg::emu {
struct CapturedOp;
}

// A stream (runtime.cpp): an in-order queue of operations drained by its own worker thread.
// While it is captured (graph.cpp), what it is given goes to `capture` instead.
struct CUstream_st {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::function<void()>> queue;
  uint64_t queued = 0, completed = 0;  // operations, in order
  int64_t launches = 0;
  std::vector<cuseg::emu::CapturedOp>* capture = nullptr;
  bool capture_invalidated = false;
};

namespace cuseg::emu {

// What a captured stream was given, in order: a graph's nodes.
struct CapturedOp {
  cudaGraphNodeType kind;
  std::function<void()> run;
};
// The stream this thread captures, if any (its "unsafe" calls are refused meanwhile).
extern thread_local CUstream_st* capturing;
// For graph.cpp: the stream behind a handle (nullptr: the legacy stream), queueing an operation
// on it, and an error reported as every runtime call reports one (cudaGetLastError's detail).
CUstream_st* stream_of(cudaStream_t stream);
uint64_t enqueue_op(CUstream_st* st, std::function<void()> op);
cudaError_t report(cudaError_t err, std::string detail);
// Whether grids launched now count their counted accesses (count_accesses; read at each launch).
extern std::atomic<bool> counting_accesses;

// Runs every block of a grid, one block at a time, its threads as host threads; returns
// cudaSuccess, or the error that ended the kernel with `detail` saying what and where.
cudaError_t run_grid(const LaunchSpec& spec, const std::function<void()>& thread_body, std::string& detail);

// Launch-limit checks (the H100's), on the launching thread: cudaSuccess or
// cudaErrorInvalidConfiguration with `detail` naming the kernel and the dimension.
// The dynamic shared memory `kernel` may use: 48 KiB, or what cudaFuncSetAttribute allowed.
int max_dynamic_shared(const void* kernel);

cudaError_t check_launch(const LaunchSpec& spec, std::string& detail);

// Whether [p, p + bytes) lies inside one live device allocation (for the emulated NCCL, which a
// host pointer would crash on a device).
bool is_device_memory(const void* p, size_t bytes);

}  // namespace cuseg::emu
