// A one-line progress bar for an epoch, redrawn in place on a terminal at most ten times a
// second: "epoch 3/10 [#######.......] 45/100  52.1 img/s  loss 0.4123  ETA 0:12". When the
// stream is not a terminal (a log file, CI) it prints nothing: the trainer's per-epoch line
// is the record there.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace cuseg {

class ProgressBar {
 public:
  // enabled: draw at all; the stream must also be a terminal.
  ProgressBar(std::FILE* stream, bool enabled);
  void start(const std::string& label, int64_t total);
  void update(int64_t done, double images_per_second, double loss);
  void finish();  // clears the line

 private:
  std::FILE* stream_;
  bool active_;
  std::string label_;
  int64_t total_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace cuseg
