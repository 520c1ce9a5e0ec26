#include "cuseg/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cuseg/core/error.h"

namespace cuseg {

void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& write) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CUSEG_CHECK(fd >= 0, path, ": cannot create ", tmp, ": ", std::strerror(errno));
  const ByteSink sink = [&](const void* data, size_t bytes) {
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const ssize_t n = ::write(fd, p, bytes);
      if (n < 0 && errno == EINTR) continue;
      CUSEG_CHECK(n > 0, path, ": write failed: ", std::strerror(errno));
      p += n;
      bytes -= size_t(n);
    }
  };
  try {
    write(sink);
    CUSEG_CHECK(::fsync(fd) == 0, path, ": fsync failed: ", std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw_error(str_cat(path, ": cannot replace it with ", tmp, ": ", std::strerror(err)));
  }
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](const ByteSink& sink) { sink(text.data(), text.size()); });
}

}  // namespace cuseg
