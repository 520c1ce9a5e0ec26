// Charts as inline SVG for seg_sweep's report (sweep_report.cpp): lines with points and error
// bars over a linear or log10 x, with an optional horizontal band; grouped bars. Each is one
// <figure class="chart" id=ID> with a caption; data are <polyline class="series" data-points=N>,
// <circle class="point"> and <rect class="bar">, which the report's test counts. A series named
// after a penalty ("l1", "l1 λ=0.01") takes that penalty's colour in every chart.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cuseg::svg {

struct Series {
  std::string name;
  std::vector<double> x, y, err;  // err: ± around y, or empty
};
struct Band {
  std::string name;
  double lo, hi;
};

std::string xy_chart(const std::string& id, const std::string& title, const std::string& xlabel,
                     const std::string& ylabel, bool log_x, const std::vector<Series>& series,
                     const std::optional<Band>& band, const std::string& note = "");
// One group per category, one bar per series (series[k].y[c]).
std::string bar_chart(const std::string& id, const std::string& title, const std::string& ylabel,
                      const std::vector<std::string>& categories, const std::vector<Series>& series);

std::string escape(const std::string& text);  // for HTML text and attributes
std::string num(double v, const char* format = "%.4g");

}  // namespace cuseg::svg
