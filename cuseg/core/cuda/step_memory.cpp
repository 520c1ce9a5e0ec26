#include "cuseg/core/cuda/step_memory.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <utility>

#include "cuseg/core/error.h"
#include "cuseg/core/memory.h"

namespace cuseg::cuda {

// A planned block: alive while its StepMemory is (`owned`) or any allocation served from it is.
struct StepMemory::Block {
  char* base = nullptr;
  size_t bytes = 0;
  int device = 0;
  int64_t live = 0;
  bool owned = true;
};

namespace {

constexpr size_t kAlign = 256;  // as cudaMallocAsync's: vector loads and cp.async need 16
size_t aligned(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

thread_local StepMemory* recording = nullptr;
thread_local StepMemory* serving = nullptr;

std::mutex blocks_m;
std::vector<std::shared_ptr<StepMemory::Block>>& blocks() {
  static auto* b = new std::vector<std::shared_ptr<StepMemory::Block>>;  // outlives static destructors
  return *b;
}

void release_block(const StepMemory::Block& b) { free_bytes(b.base, b.bytes, Device::cuda(b.device)); }

}  // namespace

StepMemory::StepMemory(int device) : device_(device) {}

StepMemory::~StepMemory() {
  if (!block_) return;
  std::shared_ptr<Block> gone;
  {
    std::lock_guard lock(blocks_m);
    block_->owned = false;
    if (block_->live == 0) {
      std::erase(blocks(), block_);
      gone = block_;
    }
  }
  if (gone) release_block(*gone);
}

bool StepMemory::planned() const { return block_ != nullptr; }
size_t StepMemory::planned_bytes() const { return block_ ? block_->bytes : 0; }
int64_t StepMemory::recorded_allocations() const { return int64_t(recorded_.size()); }

StepMemory::Recording::Recording(StepMemory& memory) : memory_(memory) {
  CUSEG_CHECK(!recording && !serving, "StepMemory: this thread already records or serves a step's memory");
  CUSEG_CHECK(!memory.planned(), "StepMemory: recorded once already");
  recording = &memory;
}

StepMemory::Recording::~Recording() {
  recording = nullptr;
  memory_.live_.clear();
  memory_.plan();
}

// Largest first, each at the lowest offset where it overlaps in bytes nothing that overlaps it in
// time (the greedy plan of TFLite's and XLA's arena planners; within a few percent of the peak).
void StepMemory::plan() {
  constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();
  const size_t n = recorded_.size();
  auto start = [&](size_t i) { return recorded_[i].freed < 0 ? int64_t(-1) : recorded_[i].made; };
  auto end = [&](size_t i) { return recorded_[i].freed < 0 ? kEnd : recorded_[i].freed; };
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return recorded_[a].bytes > recorded_[b].bytes; });
  offsets_.assign(n, 0);
  std::vector<size_t> placed;
  size_t total = 0;
  for (size_t i : order) {
    std::vector<std::pair<size_t, size_t>> taken;  // [offset, offset + bytes) of those alive with i
    for (size_t j : placed)
      if (start(i) < end(j) && start(j) < end(i)) taken.emplace_back(offsets_[j], offsets_[j] + aligned(recorded_[j].bytes));
    std::sort(taken.begin(), taken.end());
    size_t at = 0;
    for (const auto& [lo, hi] : taken) {
      if (lo >= at + aligned(recorded_[i].bytes)) break;
      at = std::max(at, hi);
    }
    offsets_[i] = at;
    total = std::max(total, at + aligned(recorded_[i].bytes));
    placed.push_back(i);
  }
  auto block = std::make_shared<Block>();
  block->device = device_;
  block->bytes = std::max<size_t>(total, kAlign);
  block->base = static_cast<char*>(allocate_bytes(block->bytes, Device::cuda(device_)));
  std::lock_guard lock(blocks_m);
  blocks().push_back(block);
  block_ = std::move(block);
}

StepMemory::Serving::Serving(StepMemory& memory) : memory_(memory) {
  CUSEG_CHECK(!recording && !serving, "StepMemory: this thread already records or serves a step's memory");
  CUSEG_CHECK(memory.planned(), "StepMemory: nothing recorded to serve");
  memory.served_ = 0;
  serving = &memory;
}

StepMemory::Serving::~Serving() {
  try {
    finish();
  } catch (const Error&) {
    // Unwinding already: the first error is the one to report.
  }
}

void StepMemory::Serving::finish() {
  if (finished_) return;
  finished_ = true;
  serving = nullptr;
  for (const Deferred& d : std::exchange(memory_.deferred_, {}))
    free_bytes(d.p, d.bytes, Device::cuda(memory_.device_));
  CUSEG_CHECK(memory_.served_ == memory_.recorded_allocations(), "the captured step made ", memory_.served_,
              " device allocations where the recorded one made ", memory_.recorded_allocations(),
              ": a step must repeat exactly to be replayed");
}

void* step_memory_serve(size_t bytes, int device) {
  StepMemory* m = serving;
  if (!m || m->device_ != device) return nullptr;
  const int64_t k = m->served_;
  CUSEG_CHECK(k < m->recorded_allocations() && m->recorded_[size_t(k)].bytes == bytes, "the captured step's device "
              "allocation #", k + 1, " asks for ", bytes, " bytes where the recorded step's ",
              k < m->recorded_allocations() ? str_cat("asked for ", m->recorded_[size_t(k)].bytes)
                                            : std::string("had no such allocation"),
              ": a step must repeat exactly to be replayed");
  ++m->served_;
  std::lock_guard lock(blocks_m);
  ++m->block_->live;
  return m->block_->base + m->offsets_[size_t(k)];
}

void step_memory_note_allocation(void* p, size_t bytes, int device) {
  StepMemory* m = recording;
  if (!m || m->device_ != device) return;
  m->live_[p] = m->recorded_.size();
  m->recorded_.push_back({bytes, m->clock_++, -1});
}

bool step_memory_take_free(void* p, size_t bytes, int device) noexcept {
  bool in_block = false;
  std::shared_ptr<StepMemory::Block> gone;
  {
    std::lock_guard lock(blocks_m);
    auto& all = blocks();
    for (auto it = all.begin(); it != all.end() && !in_block; ++it) {
      StepMemory::Block& b = **it;
      in_block = static_cast<char*>(p) >= b.base && static_cast<char*>(p) < b.base + b.bytes;
      if (in_block && --b.live == 0 && !b.owned) {
        gone = *it;
        all.erase(it);
        break;
      }
    }
  }
  if (gone) release_block(*gone);
  if (in_block) return true;
  if (StepMemory* m = recording; m && m->device_ == device) {
    auto it = m->live_.find(p);
    if (it != m->live_.end()) {
      m->recorded_[it->second].freed = m->clock_++;
      m->live_.erase(it);
    }
  }
  if (StepMemory* m = serving; m && m->device_ == device) {
    m->deferred_.push_back({p, bytes});
    return true;
  }
  return false;
}

}  // namespace cuseg::cuda
