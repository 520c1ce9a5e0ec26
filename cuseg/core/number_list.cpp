#include "cuseg/core/number_list.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "cuseg/core/error.h"

namespace cuseg {

std::vector<double> parse_non_negative_list(const std::string& text, const std::string& what) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(item, &used);
    } catch (const std::logic_error&) {
      used = 0;
    }
    CUSEG_CHECK(used == item.size() && used > 0 && v >= 0 && std::isfinite(v), what, ": '", item,
                "' is not a non-negative number");
    out.push_back(v);
  }
  CUSEG_CHECK(!out.empty(), what, ": no numbers given");
  return out;
}

std::vector<int> parse_whole_list(const std::string& text, const std::string& what) {
  std::vector<int> out;
  for (double v : parse_non_negative_list(text, what)) {
    CUSEG_CHECK(v == std::floor(v) && v <= double(std::numeric_limits<int>::max()), what, ": ", v,
                " is not a whole number");
    out.push_back(int(v));
  }
  return out;
}

}  // namespace cuseg
