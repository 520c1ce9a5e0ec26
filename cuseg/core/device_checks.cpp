#include "cuseg/core/device_checks.h"

#include <cmath>
#include <utility>

namespace cuseg {

namespace {

constexpr int64_t kMaxCounters = 64;  // distinct messages: a model's losses have a few
thread_local DeviceChecks* active_checks = nullptr;

}  // namespace

DeviceChecks::DeviceChecks(Device device)
    : device_(device), counts_(Tensor::zeros(Shape{kMaxCounters}, DType::F64, device)) {}

DeviceChecks::Scope::Scope(DeviceChecks& checks) : previous_(std::exchange(active_checks, &checks)) {}
DeviceChecks::Scope::~Scope() { active_checks = previous_; }

DeviceChecks* DeviceChecks::active(Device device) {
  return active_checks && active_checks->device_ == device ? active_checks : nullptr;
}

double* DeviceChecks::counter(const std::string& before, const std::string& after) {
  size_t i = 0;
  while (i < messages_.size() && messages_[i] != std::pair(before, after)) ++i;
  if (i == messages_.size()) {
    CUSEG_CHECK(int64_t(i) < kMaxCounters, "DeviceChecks: more than ", kMaxCounters, " distinct checks");
    messages_.emplace_back(before, after);
  }
  return counts_.data<double>() + i;
}

void DeviceChecks::raise_if_any() const {
  if (messages_.empty()) return;
  const std::vector<double> counts = counts_.to(Device::cpu()).to_vector<double>();
  for (size_t i = 0; i < messages_.size(); ++i)
    if (counts[i] != 0)
      throw_error(str_cat(messages_[i].first, int64_t(std::llround(counts[i])), messages_[i].second));
}

}  // namespace cuseg
