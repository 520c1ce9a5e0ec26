// Batches for training and evaluation, assembled by worker threads while the device computes.
//
// Each batch is decoded, augmented (or resized) and normalized by a worker into a page-locked
// host buffer, one of `prefetch` slots; next() queues an asynchronous copy of it to the device
// and returns at once, and the slot is refilled only after the copy has finished (a device event
// says so). In steady state the next batches are ready before they are asked for; wait_seconds()
// tells how long next() had to wait, the measure of a data pipeline that does not keep up.
//
// Everything is a function of (seed, epoch, batch): the epoch's order (a Philox shuffle), each
// sample's augmentation draw, and so each batch, whatever the thread timing — which is what lets
// a resumed run start in the middle of an epoch and continue bit for bit.
//
// A bad sample (with skip_bad in the dataset) is replaced by the next good one in the epoch's
// order, so batches keep their size; the dataset counts it once.
#pragma once

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuseg/core/event.h"
#include "cuseg/data/augment.h"
#include "cuseg/data/statistics.h"

namespace cuseg {

struct LoaderConfig {
  int batch = 8;
  int height = 64, width = 64;  // every image is brought to this size
  bool shuffle = false;         // a new order each epoch
  bool drop_last = false;       // drop a last, smaller batch
  bool augment = false;         // random augmentation (else the whole image resized)
  AugmentConfig augmentation;   // its height and width are set from the above
  Normalization normalization;
  int workers = 2;
  int prefetch = 3;  // batches assembled ahead
  uint64_t seed = 0;
  Device device = Device::cpu();
  // Data parallelism: this loader delivers part `shard` of `shards` of every batch, rows
  // [shard·n/shards, (shard+1)·n/shards) of its n (a last, smaller batch may give a part no
  // rows). The batch count, order and augmentation draws are those of the whole batch, so the
  // parts of all shards are together exactly the unsharded batch.
  int shard = 0, shards = 1;
};

struct Batch {
  Tensor images;  // [N, H, W, C] f32 on the device (N: this shard's part of the batch)
  Tensor labels;  // [N, H, W] u8 on the device
  std::vector<std::string> names;
  int64_t index = 0;  // within the epoch
};

class BatchLoader {
 public:
  BatchLoader(SegmentationDataset& dataset, const LoaderConfig& config);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  int64_t batches() const;  // per epoch
  // Starts (or restarts) an epoch at batch `first`; the workers begin at once.
  void start_epoch(int64_t epoch, int64_t first = 0);
  // The next batch of the epoch, or false at its end. Rethrows the error (a bad sample) of a batch
  // that could not be assembled, when that batch is asked for. With `in_place`, batch's tensors
  // are written over where their shapes fit, so a steady loop allocates nothing (whoever holds
  // the previous batch's tensors sees the new one).
  bool next(Batch& batch, bool in_place = false);
  // Seconds next() spent waiting for workers since start_epoch.
  double wait_seconds() const { return wait_seconds_; }
  // The epoch's sample order (for tests and tools).
  std::vector<size_t> order(int64_t epoch) const;

 private:
  struct Slot {
    Tensor images, labels;  // host, pinned when the device is a GPU
    std::vector<std::string> names;
    int64_t batch = -1;     // the batch it holds, ready to copy; −1: free
    DeviceEvent copied;     // the last copy out of it
  };
  void work();
  void fill(Slot& slot, int64_t batch, uint64_t epoch_seed_draw);
  int64_t rows_of(int64_t batch) const;   // of the whole batch
  int64_t first_row(int64_t batch) const;  // of this shard's part, within the batch
  int64_t part_rows(int64_t batch) const;  // of this shard's part

  SegmentationDataset& dataset_;
  LoaderConfig config_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int64_t epoch_ = 0;
  std::vector<size_t> order_;
  int64_t next_to_fill_ = 0, next_to_take_ = 0, end_ = 0;
  int in_flight_ = 0;  // batches a worker is filling
  std::exception_ptr failure_;  // of the earliest batch that failed
  int64_t failed_batch_ = 0;
  double wait_seconds_ = 0;
};

}  // namespace cuseg
