// Internal: checks of values on the device that would otherwise stop the host at every step (a
// label outside the classes), deferred to when the host reads anyway. While a DeviceChecks is
// active on a thread, the CUDA ops that can (softmax cross-entropy's and Dice's label checks) add
// their count to a counter of it on the device instead of reading it back; raise_if_any() reads
// every counter in one copy and throws the message the op would have thrown, with the count
// summed since the counters were made. A captured training step relies on it: its check runs in
// every replay, with no read.
#pragma once

#include <string>
#include <vector>

#include "cuseg/core/tensor.h"

namespace cuseg {

class DeviceChecks {
 public:
  explicit DeviceChecks(Device device);

  // Makes `checks` the active one on this thread for the scope's life.
  class Scope {
   public:
    explicit Scope(DeviceChecks& checks);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    DeviceChecks* previous_;
  };
  // The active checks for `device` on this thread, or null.
  static DeviceChecks* active(Device device);

  // A counter (one double on the device, zero) for the message `before` + count + `after`; the
  // same message gets the same counter, so a step replayed or run again adds to it.
  double* counter(const std::string& before, const std::string& after);
  // Reads the counters (a copy to the host, which waits for the device) and throws Error with the
  // first non-zero one's message.
  void raise_if_any() const;

 private:
  Device device_;
  Tensor counts_;  // [kMaxCounters] f64 on the device
  std::vector<std::pair<std::string, std::string>> messages_;
};

}  // namespace cuseg
