// Comma-separated lists of numbers as the tools take them ("1e-5,1e-4", "0.2,1,1").
#pragma once

#include <string>
#include <vector>

namespace cuseg {

// Every item a whole non-negative finite number; an error names `what` and the bad item.
std::vector<double> parse_non_negative_list(const std::string& text, const std::string& what);
// The same, each item also a whole number that fits an int ("256,128,64": widths, dilations).
std::vector<int> parse_whole_list(const std::string& text, const std::string& what);

}  // namespace cuseg
