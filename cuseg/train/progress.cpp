#include "cuseg/train/progress.h"

#include <unistd.h>

namespace cuseg {

ProgressBar::ProgressBar(std::FILE* stream, bool enabled)
    : stream_(stream), active_(enabled && stream && isatty(fileno(stream))) {}

void ProgressBar::start(const std::string& label, int64_t total) {
  label_ = label;
  total_ = total;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  drawn_ = false;
}

void ProgressBar::update(int64_t done, double images_per_second, double loss) {
  if (!active_ || total_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  constexpr int width = 24;
  const int filled = int(width * done / total_);
  std::string bar(size_t(filled), '#');
  bar.append(size_t(width - filled), '.');
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int eta = done > 0 ? int(elapsed * double(total_ - done) / double(done) + 0.5) : 0;
  std::fprintf(stream_, "\r%s [%s] %lld/%lld  %.1f img/s  loss %.4f  ETA %d:%02d\033[K", label_.c_str(), bar.c_str(),
               (long long)done, (long long)total_, images_per_second, loss, eta / 60, eta % 60);
  std::fflush(stream_);
}

void ProgressBar::finish() {
  if (!active_ || !drawn_) return;
  std::fprintf(stream_, "\r\033[K");
  std::fflush(stream_);
  drawn_ = false;
}

}  // namespace cuseg
