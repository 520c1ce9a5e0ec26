// cuseg::Error is the one exception type of the library: every failed check, every CUDA error,
// every bad file. Messages name the op (or file) and the shapes involved.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace cuseg {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Memory could not be allocated; the message says how much was asked for, what was free and
// what to lower. Layers and the graph add which tensor it was for.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

template <class... Parts>
std::string str_cat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

[[noreturn]] void throw_error(const std::string& message);

}  // namespace cuseg

// CUSEG_CHECK(cond, parts...): throws cuseg::Error with the concatenated parts when cond is false.
#define CUSEG_CHECK(cond, ...)                                        \
  do {                                                                \
    if (!(cond)) ::cuseg::throw_error(::cuseg::str_cat(__VA_ARGS__)); \
  } while (0)
