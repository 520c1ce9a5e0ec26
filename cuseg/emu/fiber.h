// Fibers for the emulator's default schedule: every CUDA thread of a block gets its own small
// stack and they all take turns on one OS thread, switching only where a thread waits in a
// barrier or a warp collective. A switch is a few instructions (no system call), so a
// barrier-heavy kernel such as the implicit GEMM runs orders of magnitude faster than with one OS
// thread per CUDA thread. x86-64 only; AddressSanitizer and ThreadSanitizer are told about every switch.
#pragma once

#include <cstddef>

namespace cuseg::emu {

class Fiber {
 public:
  Fiber();
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Makes the next resume() run entry(arg) from the top of the stack. entry must end by
  // calling Fiber::finish(), never by returning.
  void start(void (*entry)(void*), void* arg);
  // From the scheduling thread: runs the fiber until it suspends or finishes.
  void resume();
  // From inside a fiber: back to whoever resumed it.
  static void suspend();
  [[noreturn]] static void finish();

 private:
  void* stack_ = nullptr;  // mapping, guard page first
  size_t mapped_ = 0;
  void* sp_ = nullptr;
  void* fake_stack_ = nullptr;  // ASan's bookkeeping for this fiber's stack
  void* tsan_ = nullptr;        // TSan's context for this fiber
};

// An entry function calls this first: it completes the switch into the new stack for ASan.
void fiber_started();

}  // namespace cuseg::emu
