#include "cuseg/data/loader.h"

#include <chrono>
#include <cstring>
#include <numeric>

#include "cuseg/core/philox.h"

namespace cuseg {

namespace {
// Keeps the streams of the epoch order and of the augmentation draws apart.
constexpr uint64_t kOrderStream = 0x6f726465722d7368ull;
}  // namespace

BatchLoader::BatchLoader(SegmentationDataset& dataset, const LoaderConfig& config) : dataset_(dataset), config_(config) {
  CUSEG_CHECK(config.batch >= 1, "loader: batch ", config.batch, " must be at least 1");
  CUSEG_CHECK(config.height >= 1 && config.width >= 1, "loader: size ", config.height, "x", config.width);
  CUSEG_CHECK(config.workers >= 1 && config.prefetch >= 1, "loader: need at least one worker and one slot");
  CUSEG_CHECK(dataset.size() > 0, "loader: empty dataset");
  CUSEG_CHECK(batches() > 0, "loader: ", dataset.size(), " samples make no full batch of ", config.batch);
  CUSEG_CHECK(config.shards >= 1 && config.shard >= 0 && config.shard < config.shards, "loader: shard ", config.shard,
              " of ", config.shards);
  config_.augmentation.height = config.height;
  config_.augmentation.width = config.width;
  config_.normalization.validate(dataset.channels());
  const Shape images{config.batch, config.height, config.width, dataset.channels()};
  const Shape labels{config.batch, config.height, config.width};
  const bool pinned = config.device.is_cuda();
  for (int s = 0; s < config.prefetch; ++s) {
    auto slot = std::make_unique<Slot>();
    slot->images = pinned ? Tensor::empty_pinned(images) : Tensor::empty(images);
    slot->labels = pinned ? Tensor::empty_pinned(labels, DType::U8) : Tensor::empty(labels, DType::U8);
    slots_.push_back(std::move(slot));
  }
  for (int w = 0; w < config.workers; ++w) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
  for (auto& s : slots_) {
    try {
      s->copied.synchronize();  // no copy may still read a buffer about to be freed
    } catch (...) {
    }
  }
}

int64_t BatchLoader::batches() const {
  const int64_t n = int64_t(dataset_.size()), b = config_.batch;
  return config_.drop_last ? n / b : (n + b - 1) / b;
}

int64_t BatchLoader::rows_of(int64_t batch) const {
  return std::min<int64_t>(config_.batch, int64_t(dataset_.size()) - batch * config_.batch);
}

int64_t BatchLoader::first_row(int64_t batch) const { return rows_of(batch) * config_.shard / config_.shards; }

int64_t BatchLoader::part_rows(int64_t batch) const {
  return rows_of(batch) * (config_.shard + 1) / config_.shards - first_row(batch);
}

std::vector<size_t> BatchLoader::order(int64_t epoch) const {
  std::vector<size_t> order(dataset_.size());
  std::iota(order.begin(), order.end(), size_t(0));
  if (!config_.shuffle) return order;
  const uint64_t key = config_.seed ^ kOrderStream ^ (uint64_t(epoch) * 0x9E3779B97F4A7C15ull);
  for (size_t i = order.size(); i > 1; --i) {  // Fisher–Yates
    const size_t j = size_t(philox_word(key, i) % uint32_t(i));
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

void BatchLoader::start_epoch(int64_t epoch, int64_t first) {
  CUSEG_CHECK(first >= 0 && first <= batches(), "loader: batch ", first, " of ", batches());
  std::vector<size_t> order = this->order(epoch);
  std::unique_lock<std::mutex> lock(mutex_);
  // Let batches of the previous epoch that are being filled finish, then forget them.
  end_ = next_to_fill_;
  cv_.wait(lock, [&] { return in_flight_ == 0; });
  for (auto& s : slots_) s->batch = -1;
  failure_ = nullptr;
  epoch_ = epoch;
  order_ = std::move(order);
  next_to_fill_ = next_to_take_ = first;
  end_ = batches();
  wait_seconds_ = 0;
  lock.unlock();
  cv_.notify_all();
}

void BatchLoader::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] {
      return stopping_ || (next_to_fill_ < end_ && next_to_fill_ < next_to_take_ + int64_t(slots_.size()) &&
                           slots_[size_t(next_to_fill_ % int64_t(slots_.size()))]->batch == -1);
    });
    if (stopping_) return;
    const int64_t b = next_to_fill_++;
    Slot& slot = *slots_[size_t(b % int64_t(slots_.size()))];
    ++in_flight_;
    lock.unlock();
    std::exception_ptr error;
    try {
      slot.copied.synchronize();
      fill(slot, b, uint64_t(epoch_));
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    --in_flight_;
    if (error && (!failure_ || b < failed_batch_)) {  // the earliest bad batch is the one reported
      failure_ = error;
      failed_batch_ = b;
    }
    if (!error) slot.batch = b;
    cv_.notify_all();
  }
}

void BatchLoader::fill(Slot& slot, int64_t b, uint64_t epoch) {
  const int64_t n = int64_t(order_.size()), rows = part_rows(b), first = first_row(b);
  const int64_t h = config_.height, w = config_.width, c = dataset_.channels();
  slot.names.assign(size_t(rows), std::string());
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t position = b * config_.batch + first + r;
    std::optional<Sample> sample;
    for (int64_t k = 0; k < n && !sample; ++k) sample = dataset_.load(order_[size_t((position + k) % n)]);
    CUSEG_CHECK(sample.has_value(), "loader: every sample of the dataset is bad");
    CUSEG_CHECK(sample->image.dim(2) == c, sample->name, ": ", sample->image.dim(2), " channels, expected ", c);
    Tensor image, labels;
    if (config_.augment) {
      augment(sample->image, sample->labels, config_.augmentation, config_.seed, epoch * uint64_t(n) + uint64_t(position),
              image, labels);
    } else if (sample->image.dim(0) == h && sample->image.dim(1) == w) {
      image = sample->image.clone();
      labels = sample->labels;
    } else {
      resize_sample(sample->image, sample->labels, int(h), int(w), image, labels);
    }
    config_.normalization.apply(image);
    std::memcpy(slot.images.data<float>() + r * h * w * c, image.data<float>(), size_t(h * w * c) * sizeof(float));
    std::memcpy(slot.labels.data<uint8_t>() + r * h * w, labels.data<uint8_t>(), size_t(h * w));
    slot.names[size_t(r)] = sample->name;
  }
}

bool BatchLoader::next(Batch& batch, bool in_place) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_to_take_ >= end_) return false;
  const int64_t b = next_to_take_;
  Slot& slot = *slots_[size_t(b % int64_t(slots_.size()))];
  // A batch that failed is reported when it is asked for: the batches before it are delivered.
  auto failed = [&] { return failure_ != nullptr && failed_batch_ <= b; };
  const auto start = std::chrono::steady_clock::now();
  cv_.wait(lock, [&] { return slot.batch == b || failed(); });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed()) std::rethrow_exception(failure_);
  lock.unlock();

  const int64_t rows = part_rows(b), h = config_.height, w = config_.width, c = dataset_.channels();
  const Shape images{rows, h, w, c}, labels{rows, h, w};
  const auto fits = [&](const Tensor& t, const Shape& shape) {
    return in_place && t.defined() && t.shape() == shape && t.device() == config_.device;
  };
  if (!fits(batch.images, images)) batch.images = Tensor::empty(images, DType::F32, config_.device);
  if (!fits(batch.labels, labels)) batch.labels = Tensor::empty(labels, DType::U8, config_.device);
  batch.images.copy_from(slot.images.view(images));
  batch.labels.copy_from(slot.labels.view(labels));
  batch.names = slot.names;
  batch.index = b;
  slot.copied.record(config_.device);

  lock.lock();
  slot.batch = -1;
  ++next_to_take_;
  lock.unlock();
  cv_.notify_all();
  return true;
}

}  // namespace cuseg
