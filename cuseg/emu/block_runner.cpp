// Runs a grid on the host: blocks one after another, a block's CUDA threads in one of two ways:
//   fibers   every CUDA thread gets a fiber (cuseg/emu/fiber.h) and they take turns on the
//            stream's worker thread, switching only where one waits in a barrier or a warp
//            collective. Fast, and a deadlock (every live thread waiting) is seen at once.
//   threads  every CUDA thread on its own OS thread, from a pool that lives as long as the
//            process. Threads of a block are then truly concurrent, so ThreadSanitizer sees a
//            missing __syncthreads as a data race. Under TSan the first blocks of every grid
//            run this way (blocks_on_threads); CUSEG_EMU_SCHEDULE=threads runs every block so.
// Either way, __syncthreads must be reached by every thread of the block at the same call site,
// and a warp collective by every lane of its mask; anything else ends the kernel with a report
// naming it, the thread and the source line — never a hang (on threads, a wait longer than
// CUSEG_EMU_TIMEOUT_S, default 120 s, is reported as one).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cuseg/emu/device_api.h"
#include "cuseg/emu/emulator.h"
#include "cuseg/emu/fiber.h"

namespace cuseg::emu {
namespace {

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

struct Abort {};  // unwinds a CUDA thread whose kernel has already failed

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif

// How many blocks of each grid run with one OS thread per CUDA thread (the rest as fibers):
// under TSan the first 2, so that every kernel's block-level races are seen while a grid of
// thousands of blocks still runs in reasonable time (a race between a block's threads is in the
// code every block runs); elsewhere none. CUSEG_EMU_SCHEDULE=threads: every block.
uint64_t blocks_on_threads() {
  static const uint64_t n = [] {
    const char* v = std::getenv("CUSEG_EMU_SCHEDULE");
    if (v != nullptr && std::strcmp(v, "threads") == 0) return UINT64_MAX;
    return kThreadSanitizer ? uint64_t(2) : uint64_t(0);
  }();
  return n;
}

std::chrono::seconds wait_limit() {
  static const auto limit = [] {
    const char* v = std::getenv("CUSEG_EMU_TIMEOUT_S");
    return std::chrono::seconds(v ? std::max(1L, std::strtol(v, nullptr, 10)) : 120L);
  }();
  return limit;
}

std::string site(std::source_location where) { return str(where.file_name()) + ":" + std::to_string(where.line()); }
bool same_site(std::source_location a, std::source_location b) {
  return a.line() == b.line() && a.column() == b.column() && std::strcmp(a.file_name(), b.file_name()) == 0;
}

struct Warp {
  std::mutex m;
  std::condition_variable cv;
  uint32_t lanes = 0;     // lanes that exist (a partial last warp has fewer than 32)
  uint32_t exited = 0;    // lanes whose thread returned
  uint32_t expected = 0;  // the current round's mask
  uint32_t arrived = 0;
  bool draining = false;  // every lane of the round arrived; they are reading
  int readers = 0;
  uint64_t round = 0;
  uint64_t slots[32][kWarpRoundWords] = {};
  std::source_location where;
  const char* what = "";
};

struct Block {
  const LaunchSpec* spec = nullptr;
  const std::function<void()>* body = nullptr;
  unsigned threads = 0;
  uint3 index{0, 0, 0};

  // __syncthreads
  std::mutex m;
  std::condition_variable cv;
  unsigned arrived = 0, exited = 0;
  uint64_t phase = 0;
  std::source_location where;

  std::unique_ptr<Warp[]> warps;
  std::vector<unsigned char> dynamic_shared;

  // Scheduling (threads), guarded by the pool's mutex.
  unsigned next = 0, finished = 0;

  // The first failure wins; every waiter then unwinds.
  std::mutex error_m;
  bool failed = false;
  cudaError_t code = cudaSuccess;
  std::string error;

  std::string thread_name(unsigned t) const {
    const dim3 b = spec->block;
    std::ostringstream os;
    os << "thread (" << t % b.x << "," << t / b.x % b.y << "," << t / (b.x * b.y) << ") of block (" << index.x
       << "," << index.y << "," << index.z << ")";
    return os.str();
  }
  bool has_failed() {
    std::lock_guard lock(error_m);
    return failed;
  }
  void fail(cudaError_t err, const std::string& why);
};

thread_local Block* current_block = nullptr;
thread_local unsigned current_thread = 0;

// What a CUDA thread sees of itself, set on the OS thread about to run (or resume) it.
void enter_thread(Block& b, unsigned t) {
  const dim3 bd = b.spec->block;
  threadIdx = uint3{t % bd.x, t / bd.x % bd.y, t / (bd.x * bd.y)};
  blockIdx = b.index;
  blockDim = bd;
  gridDim = b.spec->grid;
  current_block = &b;
  current_thread = t;
}

// A CUDA thread under the fiber schedule.
struct FiberThread {
  Fiber fiber;
  Block* block = nullptr;
  unsigned thread = 0;
  bool done = false;
  bool spun = false;  // its last turn only found its wait still unsatisfied
};
thread_local FiberThread* current_fiber = nullptr;

[[noreturn]] void fail_here(const std::string& why, cudaError_t err = cudaErrorLaunchFailure) {
  Block& b = *current_block;
  b.fail(err, str(b.spec->name) + ": " + b.thread_name(current_thread) + ": " + why);
  throw Abort{};
}

void Block::fail(cudaError_t err, const std::string& why) {
  {
    std::lock_guard lock(error_m);
    if (failed) return;
    failed = true;
    code = err;
    error = why;
  }
  // Wake every waiter; each sees `failed` and unwinds. Locking first means none misses it.
  {
    std::lock_guard lock(m);
  }
  cv.notify_all();
  for (unsigned w = 0; w < (threads + 31) / 32; ++w) {
    {
      std::lock_guard lock(warps[w].m);
    }
    warps[w].cv.notify_all();
  }
}

// Waits on `cv` until `done`, the block fails, or the wait limit passes (then the kernel fails
// as hung, naming `what`).
template <class Done>
void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Done done, const char* what,
          std::source_location where) {
  Block& b = *current_block;
  if (FiberThread* self = current_fiber) {
    // Give the other fibers turns until `done`; the scheduler sees a round in which every fiber
    // only spun, which is a deadlock.
    for (bool first = true; !done() && !b.has_failed(); first = false) {
      self->spun = !first;
      lock.unlock();
      Fiber::suspend();
      lock.lock();
    }
    self->spun = false;
  } else if (!cv.wait_for(lock, wait_limit(), [&] { return done() || b.has_failed(); })) {
    lock.unlock();
    fail_here("hung for " + std::to_string(wait_limit().count()) + " s in " + str(what) + " (" + site(where) + ")",
              cudaErrorLaunchTimeout);
  }
  if (!done()) {
    lock.unlock();
    throw Abort{};
  }
}

class Pool {
 public:
  // Runs every thread of `b`, each on its own OS thread, and returns when all have finished.
  void run(Block& b) {
    std::unique_lock lock(m_);
    block_ = &b;
    tickets_ += b.threads;
    while (idle_ < tickets_) {
      ++idle_;  // counted idle at once, so the loop does not start more than it needs
      std::thread([this] { worker(); }).detach();
    }
    wake_.notify_all();
    done_.wait(lock, [&] { return b.finished == b.threads; });
    block_ = nullptr;
  }

  // The CUDA threads of one block in turn on the calling thread, as fibers.
  static void run_fibers(Block& b);

 private:
  void worker() {
    std::unique_lock lock(m_);
    for (;;) {
      wake_.wait(lock, [&] { return block_ != nullptr && tickets_ > 0; });
      --tickets_;
      --idle_;
      Block& b = *block_;
      const unsigned t = b.next++;
      lock.unlock();
      run_thread(b, t);
      lock.lock();
      ++idle_;
      if (++b.finished == b.threads) done_.notify_all();
    }
  }

 public:
  static void run_thread(Block& b, unsigned t) {
    enter_thread(b, t);
    try {
      (*b.body)();
      thread_returned(b, t);
    } catch (const Abort&) {
    } catch (const std::exception& e) {
      b.fail(cudaErrorLaunchFailure, str(b.spec->name) + ": " + b.thread_name(t) + ": " + e.what());
    } catch (...) {
      b.fail(cudaErrorLaunchFailure, str(b.spec->name) + ": " + b.thread_name(t) + ": an exception");
    }
    current_block = nullptr;
  }

  // A thread that returns must not leave others waiting for it.
  static void thread_returned(Block& b, unsigned t) {
    {
      std::unique_lock lock(b.m);
      ++b.exited;
      if (b.arrived > 0) {
        const std::string at = site(b.where);
        lock.unlock();
        fail_here("returned while " + std::to_string(b.arrived) + " threads wait for it at __syncthreads (" + at +
                  ")");
      }
    }
    Warp& w = b.warps[t / 32];
    const uint32_t bit = 1u << (t % 32);
    std::unique_lock lock(w.m);
    w.exited |= bit;
    if (w.arrived != 0 && !w.draining && (w.expected & bit)) {
      const std::string at = str(w.what) + " (" + site(w.where) + ")";
      lock.unlock();
      fail_here("returned while the other lanes of its mask wait for it at " + at);
    }
  }

  std::mutex m_;
  std::condition_variable wake_, done_;
  Block* block_ = nullptr;
  unsigned tickets_ = 0, idle_ = 0;
};

void fiber_main(void* arg) {
  fiber_started();
  auto* f = static_cast<FiberThread*>(arg);
  Pool::run_thread(*f->block, f->thread);
  f->done = true;
  Fiber::finish();
}

void Pool::run_fibers(Block& b) {
  // Fibers (and their stacks) are kept for the next block and grid: one grid runs at a time. A
  // thread takes a fiber when its first turn comes and gives it back when it returns, so a block
  // whose threads never wait runs them all on one stack, one after another.
  // Never destroyed, like the pool's threads: a stream worker may still be running a grid while
  // the process exits (a test that ends with a kernel in flight), after static destruction.
  static auto& pool_of_fibers = *new std::vector<std::unique_ptr<FiberThread>>;
  static auto& free_fibers = *new std::vector<FiberThread*>;
  std::vector<FiberThread*> running(b.threads, nullptr);
  std::vector<bool> returned(b.threads, false);
  for (unsigned live = b.threads; live > 0;) {
    bool progress = false;
    for (unsigned t = 0; t < b.threads; ++t) {
      if (returned[t]) continue;
      if (!running[t]) {
        if (free_fibers.empty()) {
          pool_of_fibers.push_back(std::make_unique<FiberThread>());
          free_fibers.push_back(pool_of_fibers.back().get());
        }
        running[t] = free_fibers.back();
        free_fibers.pop_back();
        FiberThread& f = *running[t];
        f.block = &b;
        f.thread = t;
        f.done = f.spun = false;
        f.fiber.start(fiber_main, &f);
      }
      FiberThread& f = *running[t];
      enter_thread(b, t);
      current_fiber = &f;
      f.fiber.resume();
      current_fiber = nullptr;
      current_block = nullptr;
      progress |= f.done || !f.spun;
      if (f.done) {
        --live;
        returned[t] = true;
        free_fibers.push_back(&f);
        running[t] = nullptr;
      }
    }
    if (!progress) {
      // Every live thread waits for one that never comes. Fail the block; on their next turn
      // they all see it and unwind.
      std::string where;
      {
        std::lock_guard lock(b.m);
        if (b.arrived > 0) where = ": " + std::to_string(b.arrived) + " wait at __syncthreads (" + site(b.where) + ")";
      }
      b.fail(cudaErrorLaunchFailure, str(b.spec->name) + ": deadlock in block (" + std::to_string(b.index.x) + "," +
                                         std::to_string(b.index.y) + "," + std::to_string(b.index.z) + "), " +
                                         std::to_string(live) + " threads waiting" + where);
    }
  }
}

Pool& pool() {
  static Pool* p = new Pool;  // its threads outlive static destruction
  return *p;
}

Block& this_block(const char* what, std::source_location where) {
  if (!current_block) throw std::logic_error(str(what) + " called outside a kernel at " + site(where));
  return *current_block;
}

}  // namespace

void* dynamic_shared() {
  Block& b = this_block("dynamic shared memory", std::source_location::current());
  return b.dynamic_shared.data();
}

unsigned lane_id() { return current_thread % 32; }

void device_trap(const char* what, std::source_location where) {
  this_block(what, where);
  fail_here(str(what) + " at " + site(where), cudaErrorAssert);
}

void sync_block(std::source_location where) {
  Block& b = this_block("__syncthreads", where);
  std::unique_lock lock(b.m);
  // The messages take what they report while the lock is held: the other threads go on
  // arriving once it is released.
  if (b.exited > 0) {
    const std::string exited = std::to_string(b.exited);
    lock.unlock();
    fail_here("__syncthreads (" + site(where) + ") reached after " + exited +
              " threads of the block returned: every thread of a block must reach each __syncthreads");
  }
  if (b.arrived == 0) {
    b.where = where;
  } else if (!same_site(b.where, where)) {
    const std::string others = std::to_string(b.arrived) + " threads wait at " + site(b.where);
    lock.unlock();
    fail_here("divergent barriers: __syncthreads at " + site(where) + " while " + others);
  }
  const uint64_t phase = b.phase;
  if (++b.arrived == b.threads) {
    b.arrived = 0;
    ++b.phase;
    lock.unlock();
    b.cv.notify_all();
    return;
  }
  wait(lock, b.cv, [&] { return b.phase != phase; }, "__syncthreads", where);
}

uint32_t warp_exchange(uint32_t mask, const uint64_t* mine, int words, uint64_t (*all)[kWarpRoundWords],
                       const char* what, std::source_location where) {
  if (words < 1 || words > kWarpRoundWords) device_trap("warp_exchange: 1 to kWarpRoundWords words a lane", where);
  Block& b = this_block(what, where);
  const unsigned lane = current_thread % 32;
  Warp& w = b.warps[current_thread / 32];
  const uint32_t bit = 1u << lane;
  // Formatted only for a report: this runs for every shuffle and every mma of every lane.
  const auto hex = [mask] {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", mask);
    return std::string(text);
  };
  if (!(mask & bit)) fail_here(str(what) + " (" + site(where) + ") with mask " + hex() + ", which leaves out the calling lane");
  if (mask & ~w.lanes) fail_here(str(what) + " (" + site(where) + ") with mask " + hex() + ", which names lanes the block does not have");

  std::unique_lock lock(w.m);
  wait(lock, w.cv, [&] { return !w.draining; }, what, where);
  if (mask & w.exited) {
    lock.unlock();
    fail_here(str(what) + " (" + site(where) + ") with mask " + hex() + ", which names lanes that already returned");
  }
  if (w.arrived == 0) {
    w.expected = mask;
    w.where = where;
    w.what = what;
  } else if (w.expected != mask || !same_site(w.where, where)) {
    const std::string others = str(w.what) + " (" + site(w.where) + ")";
    lock.unlock();
    fail_here(str(what) + " (" + site(where) + ") with mask " + hex() + " while other lanes wait at " + others +
              ": every lane of a mask must reach the same collective with the same mask");
  }
  const uint64_t round = w.round;
  for (int i = 0; i < words; ++i) w.slots[lane][i] = mine[i];
  w.arrived |= bit;
  if (w.arrived == w.expected) {
    w.draining = true;
    w.readers = std::popcount(w.expected);
    w.cv.notify_all();
  } else {
    wait(lock, w.cv, [&] { return w.round == round && w.draining; }, what, where);
  }
  const uint32_t got = w.expected;
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < words; ++i) all[l][i] = (got >> l & 1u) ? w.slots[l][i] : 0;
  if (--w.readers == 0) {
    w.draining = false;
    w.arrived = 0;
    ++w.round;
    w.cv.notify_all();
  }
  return got;
}

WarpRound warp_round(uint32_t mask, uint64_t value, const char* what, std::source_location where) {
  uint64_t all[32][kWarpRoundWords];
  WarpRound r{};
  r.mask = warp_exchange(mask, &value, 1, all, what, where);
  for (int l = 0; l < 32; ++l) r.values[l] = all[l][0];
  return r;
}

cudaError_t check_launch(const LaunchSpec& spec, std::string& detail) {
  const auto too = [&](const char* what, uint64_t got, uint64_t limit) {
    detail = str(spec.name) + " launched with " + what + " = " + std::to_string(got) + " (the limit is " +
             std::to_string(limit) + ")";
    return cudaErrorInvalidConfiguration;
  };
  const dim3 g = spec.grid, b = spec.block;
  if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.y == 0 || b.z == 0) {
    detail = str(spec.name) + " launched with an empty grid or block (" + std::to_string(g.x) + "x" +
             std::to_string(g.y) + "x" + std::to_string(g.z) + " blocks of " + std::to_string(b.x) + "x" +
             std::to_string(b.y) + "x" + std::to_string(b.z) + ")";
    return cudaErrorInvalidConfiguration;
  }
  if (g.x > 2147483647u) return too("gridDim.x", g.x, 2147483647u);
  if (g.y > 65535) return too("gridDim.y", g.y, 65535);
  if (g.z > 65535) return too("gridDim.z", g.z, 65535);
  if (b.x > 1024) return too("blockDim.x", b.x, 1024);
  if (b.y > 1024) return too("blockDim.y", b.y, 1024);
  if (b.z > 64) return too("blockDim.z", b.z, 64);
  if (uint64_t(b.x) * b.y * b.z > 1024) return too("blockDim.x*y*z", uint64_t(b.x) * b.y * b.z, 1024);
  const int shared_limit = max_dynamic_shared(spec.kernel);
  if (spec.shared_bytes > size_t(shared_limit)) {
    detail = str(spec.name) + " launched with " + std::to_string(spec.shared_bytes) +
             " bytes of dynamic shared memory (the limit is " + std::to_string(shared_limit) +
             (shared_limit == 48 * 1024 ? " without cudaFuncAttributeMaxDynamicSharedMemorySize)" : ")");
    return cudaErrorInvalidConfiguration;
  }
  return cudaSuccess;
}

cudaError_t run_grid(const LaunchSpec& spec, const std::function<void()>& thread_body, std::string& detail) {
  Block b;
  b.spec = &spec;
  b.body = &thread_body;
  b.threads = spec.block.x * spec.block.y * spec.block.z;
  const unsigned warps = (b.threads + 31) / 32;
  b.warps = std::make_unique<Warp[]>(warps);
  for (unsigned w = 0; w < warps; ++w)
    b.warps[w].lanes = w + 1 < warps || b.threads % 32 == 0 ? 0xffffffffu : (1u << (b.threads % 32)) - 1;
  b.dynamic_shared.resize(spec.shared_bytes);
  for (unsigned z = 0; z < spec.grid.z; ++z)
    for (unsigned y = 0; y < spec.grid.y; ++y)
      for (unsigned x = 0; x < spec.grid.x; ++x) {
        b.index = uint3{x, y, z};
        b.arrived = b.exited = 0;
        b.next = b.finished = 0;
        for (unsigned w = 0; w < warps; ++w) {
          Warp& wp = b.warps[w];
          wp.exited = wp.arrived = wp.expected = 0;
          wp.draining = false;
        }
        // Fresh shared memory is garbage on the device: here it is NaN bytes, so a read of an
        // element no thread wrote shows.
        std::fill(b.dynamic_shared.begin(), b.dynamic_shared.end(), 0xFF);
        if (uint64_t(z) * spec.grid.y * spec.grid.x + uint64_t(y) * spec.grid.x + x < blocks_on_threads())
          pool().run(b);
        else
          Pool::run_fibers(b);
        if (b.failed) {
          detail = b.error;
          return b.code;
        }
      }
  return cudaSuccess;
}

}  // namespace cuseg::emu
