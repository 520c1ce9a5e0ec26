#include "apps/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "cuseg/core/error.h"

namespace cuseg::svg {

namespace {

// One colour per penalty in every chart; a series named "l1 λ=0.01" takes l1's.
std::string colour_of(const std::string& series) {
  static const std::map<std::string, std::string> colours = {
      {"none", "#555555"}, {"l1", "#1f77b4"},      {"l1-prox", "#17becf"}, {"l2", "#d62728"},
      {"elastic", "#9467bd"}, {"smooth-l1", "#ff7f0e"}, {"decay", "#2ca02c"}};
  const auto it = colours.find(series.substr(0, series.find(' ')));
  return it != colours.end() ? it->second : "#8c564b";
}
constexpr double kWidth = 560, kHeight = 320, kLeft = 64, kRight = 150, kTop = 16, kBottom = 44;

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string num(double v, const char* format) {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

namespace {

// A chart's frame: the plot area's mapping and its SVG so far.
struct Frame {
  double x0, x1, y0, y1;
  bool log_x;
  std::string svg;
  double px(double x) const {
    const double v = log_x ? std::log10(x) : x;
    return kLeft + (v - x0) / (x1 - x0 == 0 ? 1 : x1 - x0) * (kWidth - kLeft - kRight);
  }
  double py(double y) const { return kHeight - kBottom - (y - y0) / (y1 - y0 == 0 ? 1 : y1 - y0) * (kHeight - kTop - kBottom); }
};

// x_ticks false: the caller labels x itself (a bar chart's categories).
Frame frame(double x0, double x1, double y0, double y1, bool log_x, const std::string& xlabel, const std::string& ylabel,
            bool x_ticks = true) {
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  const double pad = 0.06 * (y1 - y0);
  // Shares, norms and bars are never negative: their axis starts at 0 when the data does.
  Frame f{x0, x1, y0 >= 0 ? std::max(0.0, y0 - pad) : y0 - pad, y1 + pad, log_x, ""};
  f.svg += str_cat("<svg class=\"plot\" width=\"", kWidth, "\" height=\"", kHeight, "\" viewBox=\"0 0 ", kWidth, " ",
                   kHeight, "\" role=\"img\">");
  f.svg += str_cat("<rect x=\"", kLeft, "\" y=\"", kTop, "\" width=\"", kWidth - kLeft - kRight, "\" height=\"",
                   kHeight - kTop - kBottom, "\" fill=\"#fafafa\" stroke=\"#999\"/>");
  for (int i = 0; i <= 4; ++i) {  // y ticks
    const double y = f.y0 + (f.y1 - f.y0) * i / 4;
    f.svg += str_cat("<line x1=\"", kLeft - 4, "\" x2=\"", kWidth - kRight, "\" y1=\"", f.py(y), "\" y2=\"", f.py(y),
                     "\" stroke=\"#e0e0e0\"/><text x=\"", kLeft - 6, "\" y=\"", f.py(y) + 4,
                     "\" text-anchor=\"end\" font-size=\"11\">", num(y, "%.3g"), "</text>");
  }
  if (x_ticks && log_x) {
    for (double d = std::ceil(x0); d <= x1 + 1e-9; d += 1)
      f.svg += str_cat("<text x=\"", f.px(std::pow(10.0, d)), "\" y=\"", kHeight - kBottom + 16,
                       "\" text-anchor=\"middle\" font-size=\"11\">1e", num(d, "%.0f"), "</text>");
  } else if (x_ticks) {
    const double step = std::max(1.0, std::ceil((x1 - x0) / 8));
    for (double x = std::ceil(x0); x <= x1 + 1e-9; x += step)
      f.svg += str_cat("<text x=\"", f.px(x), "\" y=\"", kHeight - kBottom + 16,
                       "\" text-anchor=\"middle\" font-size=\"11\">", num(x, "%.0f"), "</text>");
  }
  f.svg += str_cat("<text x=\"", kLeft + (kWidth - kLeft - kRight) / 2, "\" y=\"", kHeight - 8,
                   "\" text-anchor=\"middle\" font-size=\"12\">", escape(xlabel), "</text>");
  f.svg += str_cat("<text transform=\"translate(14,", kTop + (kHeight - kTop - kBottom) / 2,
                   ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">", escape(ylabel), "</text>");
  return f;
}

void legend(Frame& f, int i, const std::string& name, const std::string& colour) {
  const double y = kTop + 14 + 18 * i;
  f.svg += str_cat("<rect x=\"", kWidth - kRight + 12, "\" y=\"", y - 9, "\" width=\"12\" height=\"12\" fill=\"", colour,
                   "\"/><text x=\"", kWidth - kRight + 30, "\" y=\"", y + 1, "\" font-size=\"12\">", escape(name), "</text>");
}

std::string figure(const std::string& id, const std::string& title, const std::string& svg, const std::string& note) {
  return str_cat("<figure class=\"chart\" id=\"", id, "\"><figcaption>", escape(title), "</figcaption>", svg, "</svg>",
                 note.empty() ? "" : str_cat("<p class=\"note\">", escape(note), "</p>"), "</figure>\n");
}

}  // namespace

std::string xy_chart(const std::string& id, const std::string& title, const std::string& xlabel,
                     const std::string& ylabel, bool log_x, const std::vector<Series>& series,
                     const std::optional<Band>& band, const std::string& note) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double x = log_x ? std::log10(s.x[i]) : s.x[i], e = s.err.empty() ? 0 : s.err[i];
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, s.y[i] - e), y1 = std::max(y1, s.y[i] + e);
    }
  if (band) y0 = std::min(y0, band->lo), y1 = std::max(y1, band->hi);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  Frame f = frame(x0, x1, y0, y1, log_x, xlabel, ylabel);
  int n = 0;
  if (band) {
    f.svg += str_cat("<rect class=\"band\" x=\"", kLeft, "\" y=\"", f.py(band->hi), "\" width=\"",
                     kWidth - kLeft - kRight, "\" height=\"", std::max(1.0, f.py(band->lo) - f.py(band->hi)),
                     "\" fill=\"#888\" fill-opacity=\"0.25\"/>");
    legend(f, n++, band->name, "#bbbbbb");
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const std::string colour = colour_of(s.name);
    std::string points;
    for (size_t i = 0; i < s.x.size(); ++i) points += str_cat(f.px(s.x[i]), ",", f.py(s.y[i]), " ");
    f.svg += str_cat("<polyline class=\"series\" data-points=\"", s.x.size(), "\" points=\"", points,
                     "\" fill=\"none\" stroke=\"", colour, "\" stroke-width=\"2\"/>");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!s.err.empty() && s.err[i] > 0)
        f.svg += str_cat("<line x1=\"", f.px(s.x[i]), "\" x2=\"", f.px(s.x[i]), "\" y1=\"", f.py(s.y[i] - s.err[i]),
                         "\" y2=\"", f.py(s.y[i] + s.err[i]), "\" stroke=\"", colour, "\"/>");
      f.svg += str_cat("<circle class=\"point\" cx=\"", f.px(s.x[i]), "\" cy=\"", f.py(s.y[i]), "\" r=\"3.5\" fill=\"",
                       colour, "\"><title>", escape(s.name), ": ", num(s.x[i]), " → ", num(s.y[i]), "</title></circle>");
    }
    legend(f, n++, s.name, colour);
  }
  return figure(id, title, f.svg, note);
}

std::string bar_chart(const std::string& id, const std::string& title, const std::string& ylabel,
                      const std::vector<std::string>& categories, const std::vector<Series>& series) {
  double y1 = 0;
  for (const Series& s : series)
    for (double y : s.y) y1 = std::max(y1, y);
  Frame f = frame(0, double(categories.size()), 0, y1 > 0 ? y1 : 1, false, "", ylabel, false);
  const double group = (kWidth - kLeft - kRight) / double(std::max<size_t>(1, categories.size()));
  const double bar = group * 0.8 / double(std::max<size_t>(1, series.size()));
  for (size_t c = 0; c < categories.size(); ++c)
    f.svg += str_cat("<text x=\"", kLeft + group * (double(c) + 0.5), "\" y=\"", kHeight - kBottom + 28,
                     "\" text-anchor=\"middle\" font-size=\"10\">", escape(categories[c]), "</text>");
  for (size_t k = 0; k < series.size(); ++k) {
    const std::string colour = colour_of(series[k].name);
    for (size_t c = 0; c < series[k].y.size(); ++c) {
      const double x = kLeft + group * double(c) + group * 0.1 + bar * double(k), top = f.py(series[k].y[c]);
      f.svg += str_cat("<rect class=\"bar\" x=\"", x, "\" y=\"", top, "\" width=\"", bar, "\" height=\"",
                       std::max(0.0, kHeight - kBottom - top), "\" fill=\"", colour, "\"><title>", escape(series[k].name),
                       " ", escape(categories[c]), ": ", num(series[k].y[c]), "</title></rect>");
    }
    legend(f, int(k), series[k].name, colour);
  }
  return figure(id, title, f.svg, "");
}


}  // namespace cuseg::svg
