// Runs a grid on the host, a block's CUDA threads in one of two ways:
//   fibers   every CUDA thread gets a fiber (cuseg/emu/fiber.h) and they take turns on one OS
//            thread, switching only where one waits in a barrier or a warp collective. Fast,
//            and a deadlock (every live thread waiting) is seen at once.
//   threads  every CUDA thread on its own OS thread, from a pool that lives as long as the
//            process. Threads of a block are then truly concurrent, so ThreadSanitizer sees a
//            missing __syncthreads as a data race. Under TSan the first blocks of every grid
//            run this way (Schedule::on_threads); CUSEG_EMU_SCHEDULE=threads runs every block so.
// and the blocks in one of two orders (CUSEG_EMU_SCHEDULE):
//   in order   one after another by index, on the stream's worker thread (the default);
//   shuffled   a new random permutation per grid (from CUSEG_EMU_SEED), kShuffledWorkers blocks
//              at a time on their own OS threads, and the threads of each block taking their
//              turns in a random order. A race between blocks is then a race TSan reports, a
//              kernel that depends on the order of its blocks or warps gets another answer, and
//              a lane that reads another's shared memory without __syncwarp reads NaN bytes.
// Every block gets its own static shared memory (CUSEG_SHARED), NaN bytes until written.
// Either way, __syncthreads must be reached by every thread of the block at the same call site,
// and a warp collective by every lane of its mask; anything else ends the kernel with a report
// naming it, the thread and the source line — never a hang (on threads, a wait longer than
// CUSEG_EMU_TIMEOUT_S, default 120 s, is reported as one).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cuseg/emu/device_api.h"
#include "cuseg/emu/emulator.h"
#include "cuseg/emu/fiber.h"
#include "cuseg/emu/sanitizers.h"

#if CUSEG_EMU_TSAN
#include <sanitizer/tsan_interface.h>
extern "C" {
void AnnotateIgnoreReadsBegin(const char* file, int line);
void AnnotateIgnoreReadsEnd(const char* file, int line);
void AnnotateIgnoreWritesBegin(const char* file, int line);
void AnnotateIgnoreWritesEnd(const char* file, int line);
void AnnotateIgnoreSyncBegin(const char* file, int line);
void AnnotateIgnoreSyncEnd(const char* file, int line);
}
#endif

namespace cuseg::emu {

std::atomic<bool> counting_accesses{false};

namespace {

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

struct Abort {};  // unwinds a CUDA thread whose kernel has already failed

// How the blocks of every grid run. Under TSan the first 2 blocks of each grid run with one OS
// thread per CUDA thread, so that every kernel's block-level races are seen while a grid of
// thousands of blocks still runs in reasonable time (a race between a block's threads is in the
// code every block runs); elsewhere none. CUSEG_EMU_SCHEDULE=threads: every block.
struct Schedule {
  uint64_t on_threads = 0;
  bool shuffled = false;
  uint64_t seed = 1;
};
constexpr unsigned kShuffledWorkers = 4;

Schedule from_name(const std::string& name) {
  if (!name.empty() && name != "threads" && name != "shuffled") {
    std::fprintf(stderr, "CUSEG_EMU_SCHEDULE=%s: expected threads or shuffled\n", name.c_str());
    std::abort();
  }
  Schedule r;
  r.on_threads = name == "threads" ? UINT64_MAX : CUSEG_EMU_TSAN ? 2 : 0;
  r.shuffled = name == "shuffled";
  if (const char* seed = std::getenv("CUSEG_EMU_SEED")) r.seed = std::strtoull(seed, nullptr, 10);
  return r;
}
std::mutex schedule_m;
Schedule& current_schedule() {
  static Schedule s = [] {
    const char* v = std::getenv("CUSEG_EMU_SCHEDULE");
    return from_name(v ? v : "");
  }();
  return s;
}
Schedule schedule() {
  std::lock_guard lock(schedule_m);
  return current_schedule();
}

// splitmix64: the permutations' random numbers, cheap and good enough to shuffle with.
struct Random {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[next() % i]);
  }
};

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
  char phase_sync[2] = {};  // what TSan is told a barrier orders: see BarrierForTsan
  std::mutex m;
  std::condition_variable cv;
  unsigned arrived = 0, exited = 0;
  uint64_t phase = 0;
  std::source_location where;

  std::unique_ptr<Warp[]> warps;
  std::vector<unsigned char> dynamic_shared;
  // Static shared memory (CUSEG_SHARED): one buffer per declaration, made when the first of the
  // block's threads reaches it.
  struct StaticShared {
    const void* key;
    std::unique_ptr<unsigned char[]> storage;
    unsigned char* data;  // inside storage, aligned as declared
    size_t bytes;
  };
  std::mutex statics_m;
  std::vector<StaticShared> statics;
  bool shuffled = false;
  bool counting = false;  // counted accesses count (emu::count_accesses was on at the launch)
  Random turns{0};  // the order in which a shuffled block's threads take their turns

  // Each thread's cp.async copies not yet waited for, and how many groups it has committed.
  struct AsyncCopy {
    void* dst;
    const void* src;
    unsigned bytes, src_bytes;
    int64_t group;  // -1 until committed
  };
  struct AsyncCopies {
    std::vector<AsyncCopy> pending;
    int64_t committed = 0;
  };
  std::vector<AsyncCopies> async;

  // Whether [p, p + bytes) lies in this block's shared memory, static or dynamic.
  bool in_shared(const void* p, size_t bytes) {
    const auto inside = [&](const unsigned char* base, size_t size) {
      const auto* c = static_cast<const unsigned char*>(p);
      return size > 0 && c >= base && c + bytes <= base + size;
    };
    if (inside(dynamic_shared.data(), dynamic_shared.size())) return true;
    std::lock_guard lock(statics_m);
    for (const StaticShared& st : statics)
      if (inside(st.data, st.bytes)) return true;
    return false;
  }

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
  // For a grid: the launch, and the warps a block of it has.
  void setup(const LaunchSpec& launch, const std::function<void()>& thread_body, bool shuffle) {
    spec = &launch;
    shuffled = shuffle;
    counting = counting_accesses.load();
    body = &thread_body;
    threads = launch.block.x * launch.block.y * launch.block.z;
    const unsigned n = (threads + 31) / 32;
    warps = std::make_unique<Warp[]>(n);
    for (unsigned w = 0; w < n; ++w)
      warps[w].lanes = w + 1 < n || threads % 32 == 0 ? 0xffffffffu : (1u << (threads % 32)) - 1;
    dynamic_shared.resize(launch.shared_bytes);
    async.resize(threads);
  }
  // For each block of it: everything as fresh as on the device, shared memory garbage.
  void start(uint3 block_index, uint64_t seed) {
    index = block_index;
    arrived = exited = 0;
    next = finished = 0;
    for (unsigned w = 0; w < (threads + 31) / 32; ++w) {
      Warp& wp = warps[w];
      wp.exited = wp.arrived = wp.expected = 0;
      wp.draining = false;
    }
    // Fresh shared memory is garbage on the device: here it is NaN bytes, so a read of an
    // element no thread wrote shows.
    std::fill(dynamic_shared.begin(), dynamic_shared.end(), 0xFF);
    statics.clear();
    for (AsyncCopies& a : async) a = AsyncCopies{};
    turns.state = seed;
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

// Fibers (and their stacks) are kept for the next block and grid by the OS thread that ran them,
// and unmapped when it exits. Not shared between threads: a lock the block workers all took
// would order their blocks for ThreadSanitizer and hide the races between them.
class FiberCache {
 public:
  FiberThread* take() {
    if (free_.empty()) {
      all_.push_back(std::make_unique<FiberThread>());
      return all_.back().get();
    }
    FiberThread* f = free_.back();
    free_.pop_back();
    return f;
  }
  void give_back(FiberThread* f) { free_.push_back(f); }

 private:
  std::vector<std::unique_ptr<FiberThread>> all_;
  std::vector<FiberThread*> free_;
};
FiberCache& fibers() {
  thread_local FiberCache cache;
  return cache;
}

void Pool::run_fibers(Block& b) {
  // A thread takes a fiber when its first turn comes and gives it back when it returns, so a
  // block whose threads never wait runs them all on one stack, one after another. Shuffled, the
  // threads take their turns in a new random order every round.
  std::vector<FiberThread*> running(b.threads, nullptr);
  std::vector<bool> returned(b.threads, false);
  std::vector<unsigned> order(b.threads);
  for (unsigned t = 0; t < b.threads; ++t) order[t] = t;
  for (unsigned live = b.threads; live > 0;) {
    bool progress = false;
    if (b.shuffled) b.turns.shuffle(order);
    for (const unsigned t : order) {
      if (returned[t]) continue;
      if (!running[t]) {
        running[t] = fibers().take();
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
        fibers().give_back(&f);
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

void set_schedule(const std::string& name) {
  std::lock_guard lock(schedule_m);
  current_schedule() = from_name(name);
}

void* static_shared(const void* key, size_t bytes, size_t alignment) {
  Block& b = this_block("static shared memory", std::source_location::current());
  std::lock_guard lock(b.statics_m);
  for (const Block::StaticShared& st : b.statics)
    if (st.key == key) return st.data;
  // The buffer starts `alignment` past a multiple of 32 (at one, from 32 up): aligned as declared,
  // never more, so an access that needs more fails its alignment check as it may on a GPU.
  Block::StaticShared st{key, std::make_unique<unsigned char[]>(bytes + 64), nullptr, bytes};
  const uintptr_t base = reinterpret_cast<uintptr_t>(st.storage.get());
  st.data = st.storage.get() + (32 - base % 32) % 32 + (alignment >= 32 ? 0 : alignment);
  std::memset(st.data, 0xFF, bytes);
  b.statics.push_back(std::move(st));
  return b.statics.back().data;
}

unsigned lane_id() { return current_thread % 32; }

void device_trap(const char* what, std::source_location where) {
  this_block(what, where);
  fail_here(str(what) + " at " + site(where), cudaErrorAssert);
}

void check_aligned(const void* p, unsigned bytes, const char* what, std::source_location where) {
  if (reinterpret_cast<uintptr_t>(p) % bytes == 0) return;
  this_block(what, where);
  char address[32];
  std::snprintf(address, sizeof address, "%p", p);
  fail_here(str(what) + " at " + site(where) + " of " + address + ", which is not a multiple of " +
                std::to_string(bytes) + " bytes: misaligned address",
            cudaErrorMisalignedAddress);
}

namespace {
std::mutex counts_m;
std::map<std::string, AccessCounts>& counts() {
  static auto* c = new std::map<std::string, AccessCounts>;
  return *c;
}

// Wavefronts of one shared-memory request: lanes in phases of 128 bytes' worth (32 lanes of up
// to 4 bytes, 16 of 8, 8 of 16); in each phase, the most distinct 4-byte words any bank serves.
// The same word for several lanes is one (a broadcast).
void add_shared(AccessCounts& c, const uint64_t (*all)[kWarpRoundWords], uint32_t mask) {
  const unsigned bytes = unsigned(all[std::countr_zero(mask)][1]);
  const int per_phase = bytes <= 4 ? 32 : bytes == 8 ? 16 : 8;
  ++c.shared_requests;
  for (int first = 0; first < 32; first += per_phase) {
    std::vector<uint64_t> words;
    for (int l = first; l < first + per_phase; ++l)
      if ((mask >> l & 1u) && all[l][0] != 0)
        for (uint64_t w = all[l][0] / 4; w < (all[l][0] + all[l][1] + 3) / 4; ++w) words.push_back(w);
    if (words.empty()) continue;
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    int per_bank[32] = {};
    for (const uint64_t w : words) ++per_bank[w % 32];
    c.shared_wavefronts += *std::max_element(per_bank, per_bank + 32);
    ++c.shared_ideal_wavefronts;
  }
}

// Sectors of one global request: the distinct 32-byte sectors its lanes' bytes fall in, and the
// distinct bytes asked for (lanes reading the same element ask for it once).
void add_global(AccessCounts& c, const uint64_t (*all)[kWarpRoundWords], uint32_t mask) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (int l = 0; l < 32; ++l)
    if ((mask >> l & 1u) && all[l][0] != 0) ranges.emplace_back(all[l][0], all[l][0] + all[l][1]);
  if (ranges.empty()) return;  // every lane in the padding: no request
  std::sort(ranges.begin(), ranges.end());
  ++c.global_requests;
  std::vector<uint64_t> sectors;
  uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (end > std::max(begin, covered)) c.global_bytes += int64_t(end - std::max(begin, covered));
    covered = std::max(covered, end);
    for (uint64_t sector = begin / 32; sector <= (end - 1) / 32; ++sector) sectors.push_back(sector);
  }
  std::sort(sectors.begin(), sectors.end());
  c.global_sectors += std::unique(sectors.begin(), sectors.end()) - sectors.begin();
}
}  // namespace

bool grid_counts_accesses() { return current_block != nullptr && current_block->counting; }

void count_accesses(bool on) {
  std::lock_guard lock(counts_m);
  counts().clear();
  counting_accesses = on;
}

std::map<std::string, AccessCounts> access_counts() {
  std::lock_guard lock(counts_m);
  return counts();
}

void count_access(MemorySpace space, const void* p, unsigned bytes, std::source_location where) {
  const char* what = space == MemorySpace::Shared ? "a counted shared-memory access" : "a counted global load";
  Block& b = this_block(what, where);
  Warp& w = b.warps[current_thread / 32];
  uint32_t live;
  {
    std::lock_guard lock(w.m);
    live = w.lanes & ~w.exited;
  }
  const uint64_t mine[2] = {reinterpret_cast<uintptr_t>(p), bytes};
  uint64_t all[32][kWarpRoundWords];
  const uint32_t mask = warp_exchange(live, mine, 2, all, what, where);
  if (current_thread % 32 != unsigned(std::countr_zero(mask))) return;  // the warp's lowest lane counts
  std::lock_guard lock(counts_m);
  AccessCounts& c = counts()[str(b.spec->name)];
  if (space == MemorySpace::Shared)
    add_shared(c, all, mask);
  else
    add_global(c, all, mask);
}

void cp_async(void* dst, const void* src, unsigned bytes, unsigned src_bytes, std::source_location where) {
  Block& b = this_block("cp.async", where);
  if (bytes != 4 && bytes != 8 && bytes != 16) device_trap("cp.async of other than 4, 8 or 16 bytes", where);
  if (src_bytes > bytes) device_trap("cp.async: a source size above the copy's", where);
  check_aligned(dst, bytes, "a cp.async destination", where);
  if (src_bytes > 0) check_aligned(src, bytes, "a cp.async source", where);
  if (!b.in_shared(dst, bytes)) fail_here("cp.async (" + site(where) + ") to an address outside the block's shared memory");
  // Until its wait the destination is undefined on the device: garbage here, so a read of it
  // before cp_async_wait (or without the __syncthreads after) shows.
  std::memset(dst, 0xFF, bytes);
  b.async[current_thread].pending.push_back({dst, src, bytes, src_bytes, -1});
}

void cp_async_commit() {
  Block& b = this_block("cp.async.commit_group", std::source_location::current());
  Block::AsyncCopies& mine = b.async[current_thread];
  for (Block::AsyncCopy& c : mine.pending)
    if (c.group < 0) c.group = mine.committed;
  ++mine.committed;
}

void cp_async_wait(int newest_pending, std::source_location where) {
  Block& b = this_block("cp.async.wait_group", where);
  Block::AsyncCopies& mine = b.async[current_thread];
  // Every committed group but the newest `newest_pending` lands now, in the order issued; the
  // source is read here, so what was in it at the wait is what arrives.
  std::erase_if(mine.pending, [&](const Block::AsyncCopy& c) {
    if (c.group < 0 || c.group >= mine.committed - newest_pending) return false;
    if (c.src_bytes > 0) std::memcpy(c.dst, c.src, c.src_bytes);
    std::memset(static_cast<unsigned char*>(c.dst) + c.src_bytes, 0, c.bytes - c.src_bytes);
    return true;
  });
}

namespace {

// A barrier orders, for ThreadSanitizer, exactly what it orders on a device: every thread's work
// before phase p's barrier before every thread's work after it. The mutex and condition variable
// that implement it order more: a thread that wakes late takes the mutex after others released it
// arriving at the next barrier, which would make their work after phase p look ordered before its
// own, hiding a race inside the phase. So while a thread is inside the barrier TSan ignores its
// synchronization and its accesses to the barrier's state, and is told the barrier instead: a
// release of the phase's object on arriving, an acquire of it on leaving (two objects, by the
// phase's parity: no thread can arrive at p + 2 before every thread has left p). Only for CUDA
// threads on OS threads: fibers are ordered by their switches, which an ignored synchronization
// would break.
class BarrierForTsan {
 public:
  BarrierForTsan(Block& b) : sync_(current_fiber ? nullptr : &b.phase_sync[phase_of(b) & 1]) {
#if CUSEG_EMU_TSAN
    if (!sync_) return;
    __tsan_release(sync_);
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
  }
  ~BarrierForTsan() {
#if CUSEG_EMU_TSAN
    if (!sync_) return;
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
    __tsan_acquire(sync_);
#endif
  }
  BarrierForTsan(const BarrierForTsan&) = delete;
  BarrierForTsan& operator=(const BarrierForTsan&) = delete;

 private:
  // The phase cannot change before this thread arrives, so it is read without the lock (and
  // without TSan: the writer holds the lock this read skips).
  static uint64_t phase_of(Block& b) {
#if CUSEG_EMU_TSAN
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
#endif
    const uint64_t phase = b.phase;
#if CUSEG_EMU_TSAN
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
    return phase;
  }
  char* sync_;
};

}  // namespace

void sync_block(std::source_location where) {
  Block& b = this_block("__syncthreads", where);
  const BarrierForTsan barrier(b);
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

namespace {

// The OS threads that run blocks side by side under the shuffled schedule; like the pool's, they
// live as long as the process. Their own four, not the pool's: each keeps a cache of fibers
// (FiberCache, per OS thread), and workers drawn from the pool's hundreds of threads would each
// grow one — under TSan that exhausted its allocator (tried).
class BlockWorkers {
 public:
  // Runs `job` on `n` of them at once and returns when every one has returned.
  void run(unsigned n, const std::function<void()>& job) {
    std::unique_lock lock(m_);
    while (threads_ < n) {
      ++threads_;
      std::thread([this] { loop(); }).detach();
    }
    job_ = &job;
    tickets_ = pending_ = n;
    wake_.notify_all();
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void loop() {
    std::unique_lock lock(m_);
    for (;;) {
      wake_.wait(lock, [&] { return job_ != nullptr && tickets_ > 0; });
      --tickets_;
      const std::function<void()>& job = *job_;
      lock.unlock();
      job();
      lock.lock();
      if (--pending_ == 0) done_.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable wake_, done_;
  const std::function<void()>* job_ = nullptr;
  unsigned threads_ = 0, tickets_ = 0, pending_ = 0;
};

BlockWorkers& block_workers() {
  static auto* w = new BlockWorkers;
  return *w;
}

}  // namespace

cudaError_t run_grid(const LaunchSpec& spec, const std::function<void()>& thread_body, std::string& detail) {
  const Schedule how = schedule();
  const dim3 g = spec.grid;
  const uint64_t blocks = uint64_t(g.x) * g.y * g.z;
  // The grid's blocks in the order they start: by index, or a permutation new for every grid.
  static std::atomic<uint64_t> grids{0};
  const uint64_t grid_number = grids.fetch_add(1);
  Random random{how.seed * 0x2545f4914f6cdd1dull + grid_number};
  std::vector<uint64_t> order;
  if (how.shuffled) {
    order.resize(blocks);
    for (uint64_t i = 0; i < blocks; ++i) order[i] = i;
    random.shuffle(order);
  }
  const auto block_at = [&](uint64_t i) {
    const uint64_t k = how.shuffled ? order[i] : i;
    return uint3{unsigned(k % g.x), unsigned(k / g.x % g.y), unsigned(k / (uint64_t(g.x) * g.y))};
  };
  const auto seed_of = [&](uint64_t i) { return random.state ^ (i * 0x9e3779b97f4a7c15ull); };

  Block b;
  b.setup(spec, thread_body, how.shuffled);
  uint64_t i = 0;
  const auto run_in_turn = [&](uint64_t end, bool on_threads) {
    for (; i < end; ++i) {
      b.start(block_at(i), seed_of(i));
      if (on_threads)
        pool().run(b);
      else
        Pool::run_fibers(b);
      if (b.failed) {
        detail = b.error;
        return false;
      }
    }
    return true;
  };
  // A shuffled grid's failure says how to get the same order again: each test is its own process
  // under ctest, so the same seed gives the same permutations.
  const auto failed = [&](cudaError_t code) {
    if (how.shuffled)
      detail += " (shuffled schedule: CUSEG_EMU_SEED=" + std::to_string(how.seed) + ", grid " +
                std::to_string(grid_number) + " of the process)";
    return code;
  };
  if (!run_in_turn(std::min(blocks, how.on_threads), true)) return failed(b.code);
  if (!how.shuffled || blocks - i < 2) return run_in_turn(blocks, false) ? cudaSuccess : failed(b.code);

  // Shuffled: the rest side by side, each worker taking the next block of the permutation until
  // none is left or one has failed (the first failure is the grid's).
  std::atomic<uint64_t> next{i};
  std::atomic<bool> stop{false};
  std::mutex error_m;
  cudaError_t code = cudaSuccess;
  const std::function<void()> work = [&] {
    Block w;
    w.setup(spec, thread_body, how.shuffled);
    // Relaxed: an acquire here would order the workers' blocks for TSan and hide their races.
    for (uint64_t k; !stop.load(std::memory_order_relaxed) && (k = next.fetch_add(1, std::memory_order_relaxed)) < blocks;) {
      w.start(block_at(k), seed_of(k));
      Pool::run_fibers(w);
      if (w.failed) {
        std::lock_guard lock(error_m);
        if (code == cudaSuccess) {
          code = w.code;
          detail = w.error;
        }
        stop.store(true, std::memory_order_relaxed);
      }
    }
  };
  block_workers().run(unsigned(std::min<uint64_t>(kShuffledWorkers, blocks - i)), work);
  return code == cudaSuccess ? code : failed(code);
}

}  // namespace cuseg::emu
