#include "cuseg/core/error.h"

namespace cuseg {

void throw_error(const std::string& message) { throw Error(message); }

}  // namespace cuseg
