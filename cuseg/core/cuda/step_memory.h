// Internal: the device memory of a unit of work that repeats exactly (a training step), planned
// once so that the unit can be captured into a CUDA graph and replayed without allocating.
//
// A StepMemory watches one eager run of the unit (a Recording): every device allocation it makes
// on this thread, in order, with its size and when it is freed, or that it outlives the run. The
// plan lays them out in one block: two allocations share bytes only when one is freed before the
// other is made; one that outlives the run gets bytes of its own, because the next run may read it
// (a layer's saved activations) before it is replaced. While it serves (a Serving: the capture),
// the same sequence of requests is answered from the block, each size checked against the
// recording, and frees of the block's memory do nothing. Frees of other device memory during a
// Serving wait until it ends (a capture may not free). The block is freed when the StepMemory and
// every tensor still pointing into it are gone, so tensors a layer keeps stay valid.
//
//   StepMemory memory(device);
//   { StepMemory::Recording r(memory); step(); }   // eager, watched
//   { StepMemory::Serving s(memory); capture(step); s.finish(); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace cuseg::cuda {

// For allocate_bytes / free_bytes (core/memory.cpp), on the calling thread:
// device memory served by an active Serving, or nullptr when none serves `device`;
void* step_memory_serve(size_t bytes, int device);
// after a real allocation: noted by an active Recording;
void step_memory_note_allocation(void* p, size_t bytes, int device);
// true when free_bytes has nothing (more) to do: `p` is in a planned block, or a Serving defers it.
bool step_memory_take_free(void* p, size_t bytes, int device) noexcept;

class StepMemory {
 public:
  explicit StepMemory(int device);
  ~StepMemory();
  StepMemory(const StepMemory&) = delete;
  StepMemory& operator=(const StepMemory&) = delete;

  class Recording {
   public:
    explicit Recording(StepMemory& memory);
    ~Recording();  // plans the block (allocates it)
    Recording(const Recording&) = delete;
    Recording& operator=(const Recording&) = delete;

   private:
    StepMemory& memory_;
  };
  class Serving {
   public:
    explicit Serving(StepMemory& memory);
    ~Serving();  // as finish()
    Serving(const Serving&) = delete;
    Serving& operator=(const Serving&) = delete;
    // Stops serving and frees what was freed meanwhile. Throws when fewer allocations were asked
    // for than recorded.
    void finish();

   private:
    StepMemory& memory_;
    bool finished_ = false;
  };

  bool planned() const;
  size_t planned_bytes() const;  // the block
  int64_t recorded_allocations() const;

  struct Block;  // internal (step_memory.cpp)

 private:
  friend void* step_memory_serve(size_t, int);
  friend void step_memory_note_allocation(void*, size_t, int);
  friend bool step_memory_take_free(void*, size_t, int) noexcept;
  void plan();
  int device_;
  struct Recorded {
    size_t bytes;
    int64_t made, freed;  // event numbers; freed = −1: outlives the run
  };
  std::vector<Recorded> recorded_;
  std::map<void*, size_t> live_;  // while recording: a pointer not yet freed → its recorded number
  int64_t clock_ = 0;             // while recording: allocations and frees so far
  std::vector<size_t> offsets_;
  std::shared_ptr<Block> block_;
  int64_t served_ = 0;
  struct Deferred {
    void* p;
    size_t bytes;
  };
  std::vector<Deferred> deferred_;  // while serving: frees of other device memory, for the end
};

}  // namespace cuseg::cuda
