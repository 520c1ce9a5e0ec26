#include "cuseg/emu/fiber.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>

#include "cuseg/emu/sanitizers.h"

#if CUSEG_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if CUSEG_EMU_TSAN
// Each fiber gets its own TSan context (its own shadow call stack); switches synchronize, so
// TSan sees fibers as one thread of execution and reports no races between them. The blocks
// that must show races run on OS threads instead (block_runner.cpp).
#include <sanitizer/tsan_interface.h>
#endif

#if !defined(__x86_64__)
#error "the emulator's fibers switch stacks in x86-64 assembly"
#endif

// cuseg_emu_switch(save, next): saves the callee-saved registers, MXCSR and the x87 control word
// on the current stack, stores the stack pointer in *save, and continues on `next` by restoring
// the same frame from it. cuseg_emu_fiber_start is where a fresh stack's frame "returns" to: it
// calls entry(arg), kept in r13 and r12 by Fiber::start. Its CFI marks the end of the stack for
// unwinders and backtraces.
extern "C" void cuseg_emu_switch(void** save, void* next);
extern "C" void cuseg_emu_fiber_start();
asm(R"(
  .text
  .globl cuseg_emu_switch
  .hidden cuseg_emu_switch
  .type cuseg_emu_switch, @function
cuseg_emu_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size cuseg_emu_switch, .-cuseg_emu_switch

  .globl cuseg_emu_fiber_start
  .hidden cuseg_emu_fiber_start
  .type cuseg_emu_fiber_start, @function
cuseg_emu_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size cuseg_emu_fiber_start, .-cuseg_emu_fiber_start
)");

namespace cuseg::emu {
namespace {

// Kernels are shallow; the unwinder (an Abort out of a collective) and ASan's larger frames set
// the size. Untouched pages of the mapping cost nothing.
constexpr size_t kStackBytes = CUSEG_EMU_ASAN ? size_t(1) << 20 : size_t(256) << 10;
constexpr size_t kGuardBytes = 4096;

struct Current {
  Fiber* fiber = nullptr;
  void* resumer_tsan = nullptr;
  void** resumer_sp = nullptr;  // where the resumer's stack pointer was saved
  void** fiber_sp = nullptr;
  const void* resumer_bottom = nullptr;  // the resumer's stack, for ASan
  size_t resumer_size = 0;
};
thread_local Current current;

}  // namespace

Fiber::Fiber() {
  mapped_ = kStackBytes + kGuardBytes;
  stack_ = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stack_ == MAP_FAILED) throw std::bad_alloc();
  mprotect(stack_, kGuardBytes, PROT_NONE);  // an overflow faults instead of corrupting
#if CUSEG_EMU_TSAN
  tsan_ = __tsan_create_fiber(0);
#endif
}

Fiber::~Fiber() {
#if CUSEG_EMU_TSAN
  __tsan_destroy_fiber(tsan_);
#endif
  munmap(stack_, mapped_);
}

void Fiber::start(void (*entry)(void*), void* arg) {
  auto* bottom = static_cast<unsigned char*>(stack_) + kGuardBytes;
#if CUSEG_EMU_ASAN
  __asan_unpoison_memory_region(bottom, kStackBytes);  // frames left by the fiber's last run
#endif
  auto top = reinterpret_cast<uintptr_t>(bottom + kStackBytes) & ~uintptr_t(15);
  // The frame cuseg_emu_switch restores: MXCSR and x87 control word, r15, r14, r13, r12, rbx,
  // rbp, return address. After its `ret` the stack pointer is top − 16, 16-byte aligned, as a
  // call instruction needs.
  auto* frame = reinterpret_cast<uint64_t*>(top - 88);
  std::memset(frame, 0, 88);
  const uint32_t mxcsr = 0x1F80;  // round to nearest, all exceptions masked
  const uint16_t fpucw = 0x037F;
  std::memcpy(&frame[0], &mxcsr, sizeof mxcsr);
  std::memcpy(reinterpret_cast<unsigned char*>(&frame[0]) + 4, &fpucw, sizeof fpucw);
  frame[4] = reinterpret_cast<uint64_t>(entry);  // r13
  frame[5] = reinterpret_cast<uint64_t>(arg);    // r12
  frame[8] = reinterpret_cast<uint64_t>(&cuseg_emu_fiber_start);
  sp_ = frame;
  fake_stack_ = nullptr;
#if CUSEG_EMU_TSAN
  // A finished fiber never returned from its entry function: a fresh context, so TSan's shadow
  // call stack does not grow by those frames with every reuse.
  __tsan_destroy_fiber(tsan_);
  tsan_ = __tsan_create_fiber(0);
#endif
}

void Fiber::resume() {
  const Current saved = current;
  void* resumer_sp = nullptr;
  current.fiber = this;
  current.resumer_sp = &resumer_sp;
  current.fiber_sp = &sp_;
#if CUSEG_EMU_TSAN
  current.resumer_tsan = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_, 0);
#endif
#if CUSEG_EMU_ASAN
  void* resumer_fake = nullptr;
  __sanitizer_start_switch_fiber(&resumer_fake, static_cast<unsigned char*>(stack_) + kGuardBytes, kStackBytes);
#endif
  cuseg_emu_switch(&resumer_sp, sp_);
#if CUSEG_EMU_ASAN
  __sanitizer_finish_switch_fiber(resumer_fake, nullptr, nullptr);
#endif
  current = saved;
}

void Fiber::suspend() {
  Current& c = current;
  Fiber* self = c.fiber;
#if CUSEG_EMU_ASAN
  __sanitizer_start_switch_fiber(&self->fake_stack_, c.resumer_bottom, c.resumer_size);
#endif
#if CUSEG_EMU_TSAN
  __tsan_switch_to_fiber(c.resumer_tsan, 0);
#endif
  cuseg_emu_switch(c.fiber_sp, *c.resumer_sp);
#if CUSEG_EMU_ASAN
  __sanitizer_finish_switch_fiber(self->fake_stack_, &current.resumer_bottom, &current.resumer_size);
#endif
  (void)self;
}

void Fiber::finish() {
  Current& c = current;
#if CUSEG_EMU_ASAN
  __sanitizer_start_switch_fiber(nullptr, c.resumer_bottom, c.resumer_size);  // this stack is done
#endif
#if CUSEG_EMU_TSAN
  __tsan_switch_to_fiber(c.resumer_tsan, 0);
#endif
  void* discard = nullptr;
  cuseg_emu_switch(&discard, *c.resumer_sp);
  __builtin_unreachable();
}

// The first instructions of every fiber run here (through the entry function), so ASan learns
// the resumer's stack before anything else happens.
void fiber_started() {
#if CUSEG_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &current.resumer_bottom, &current.resumer_size);
#endif
}

}  // namespace cuseg::emu
