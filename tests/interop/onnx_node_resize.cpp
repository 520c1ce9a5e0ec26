// Resize (and the older Upsample) onto upsample_forward. cuseg's modes are defined by the output
// size alone (PyTorch's F.interpolate with size=, scale = in/out), ONNX's by a coordinate
// transformation of the scale it is given. So a case maps onto a cuseg mode where, on its own
// shape, ONNX's transformation reads the same source for every output row and column as that
// mode (computed here from ONNX's formulas: onnx/reference/ops/op_resize.py): always for
// align_corners (bilinear) and asymmetric/floor (nearest) with scale = out/in, for half_pixel
// with scale = out/in, and for integer upscales under more modes. Elsewhere it is not
// expressible, and the reason names the first output that reads elsewhere.
#include <algorithm>
#include <cmath>

#include "cuseg/core/error.h"
#include "cuseg/kernels/upsample.h"
#include "onnx_node_case.h"

namespace cuseg::onnx_node {
namespace {

// ONNX's source coordinate of output o along an axis of `in` inputs, `out` outputs, scale s.
double onnx_source(const std::string& mode, int64_t o, double s, int64_t in, int64_t out) {
  const double out_f = s * double(in);  // ONNX's output width before rounding down
  if (mode == "align_corners") return out_f == 1 ? 0 : double(o) * double(in - 1) / (out_f - 1);
  if (mode == "asymmetric") return double(o) / s;
  if (mode == "pytorch_half_pixel") return out_f == 1 ? -0.5 : (double(o) + 0.5) / s - 0.5;
  if (mode == "half_pixel") return (double(o) + 0.5) / s - 0.5;
  if (mode == "half_pixel_symmetric") {
    const double offset = double(in) / 2 * (1 - double(out) / out_f);
    return offset + (double(o) + 0.5) / s - 0.5;
  }
  cannot("coordinate_transformation_mode " + mode + ": cuseg has no such mode");
}

int64_t onnx_nearest(double x, const std::string& rounding, int64_t in) {
  const double f = std::floor(x), frac = x - f;
  double i = f;
  if (rounding == "ceil") i = std::ceil(x);
  else if (rounding == "round_prefer_floor") i = frac > 0.5 ? f + 1 : f;
  else if (rounding == "round_prefer_ceil") i = frac >= 0.5 ? f + 1 : f;
  else if (rounding != "floor") cannot("nearest_mode " + rounding);
  return std::clamp(int64_t(i), int64_t(0), in - 1);
}

// cuseg's sources (kernels/upsample_math.h): nearest in float as PyTorch; bilinear in double.
int64_t cuseg_nearest(int64_t o, int64_t in, int64_t out) {
  const int64_t i = in == out ? o : out == 2 * in ? o >> 1 : int64_t(float(o) * (float(in) / float(out)));
  return std::min(i, in - 1);
}
double cuseg_linear(UpsampleMode m, int64_t o, int64_t in, int64_t out) {
  if (m == UpsampleMode::BilinearAlignCorners) return out > 1 ? double(o) * double(in - 1) / double(out - 1) : 0;
  return std::max(double(in) / double(out) * (double(o) + 0.5) - 0.5, 0.0);
}

struct Axis {
  int64_t in, out;
  double scale;
};

// "" where mode m reads as ONNX does along the axis, else what differs.
std::string differs(UpsampleMode m, const Axis& a, const std::string& coord, const std::string& rounding) {
  for (int64_t o = 0; o < a.out; ++o) {
    const double x = onnx_source(coord, o, a.scale, a.in, a.out);
    if (m == UpsampleMode::Nearest) {
      const int64_t want = onnx_nearest(x, rounding, a.in), got = cuseg_nearest(o, a.in, a.out);
      if (want != got) return str_cat("output ", o, " of ", a.out, " reads input ", want, ", cuseg's ", got);
    } else {
      const double want = std::clamp(x, 0.0, double(a.in - 1)), got = std::clamp(cuseg_linear(m, o, a.in, a.out), 0.0, double(a.in - 1));
      if (std::abs(want - got) > 1e-6) return str_cat("output ", o, " of ", a.out, " reads input ", want, ", cuseg's ", got);
    }
  }
  return "";
}

// mode "nearest" or "linear"; scales (4, NCHW order) or empty: from the output size.
std::vector<Array> run(const Case& c, const Run& r, const std::string& mode, const std::string& coord,
                       const std::string& rounding, const std::vector<double>& scales) {
  const Array& x = c.inputs.at(0);
  if (x.dtype != "float32" && x.dtype != "float64") cannot("dtype " + x.dtype + ": cuseg computes in float32 and float64");
  if (x.shape.size() != 4) cannot(str_cat(x.shape.size() - 2, "-D resize: cuseg's is 2-D (NCHW)"));
  if (mode != "nearest" && mode != "linear") cannot("mode " + mode + ": cuseg has nearest and (bi)linear");
  const auto& y = c.outputs.at(0).shape;
  if (y[0] != x.shape[0] || y[1] != x.shape[1]) cannot("resizes N or C: cuseg resizes H and W");
  // pytorch_half_pixel is named after PyTorch's bilinear, which cuseg's is: it runs whatever
  // it reads (onnx_node_test.cpp lists where ONNX's reading is not PyTorch's).
  const bool named = coord == "pytorch_half_pixel" && mode == "linear";
  std::string why;
  for (UpsampleMode m : mode == "nearest" ? std::vector{UpsampleMode::Nearest}
                                          : std::vector{UpsampleMode::Bilinear, UpsampleMode::BilinearAlignCorners}) {
    std::string d;
    for (int k = 2; k < 4 && d.empty() && !named; ++k) {
      const Axis a{x.shape[size_t(k)], y[size_t(k)], scales.empty() ? double(y[size_t(k)]) / double(x.shape[size_t(k)]) : scales[size_t(k)]};
      d = differs(m, a, coord, rounding);
      if (!d.empty()) d = str_cat(k == 2 ? "rows" : "columns", ": ", d);
    }
    if (!d.empty()) {
      // The reason names the mode ONNX's would be: align_corners's, else nearest's or bilinear's.
      if (m == UpsampleMode::Nearest || (m == UpsampleMode::BilinearAlignCorners) == (coord == "align_corners"))
        why = str_cat(coord, mode == "nearest" ? "/" + rounding : "", " at ",
                      scales.empty() ? "scale out/in" : "the scale given", ", ", d);
      continue;
    }
    const Tensor xt = tensor(x, r, kToNhwc);
    Tensor yt = Tensor::empty(Shape{y[0], y[2], y[3], y[1]}, xt.dtype());
    upsample_forward(xt, yt, m, r.backend);
    return {array(yt, kToNchw)};
  }
  cannot(why);
}

std::vector<Array> resize(const Case& c, const Run& r) {
  const std::string mode = attr_str(c, "mode", "nearest"), coord = attr_str(c, "coordinate_transformation_mode", "half_pixel");
  if (mode == "cubic") cannot("cubic interpolation: cuseg has nearest and bilinear");
  if (c.attrs.value("antialias", 0) != 0) cannot("antialias: cuseg's downsampling reads two taps");
  if (coord == "tf_crop_and_resize") cannot("tf_crop_and_resize: cuseg resizes the whole image");
  const size_t rank = c.inputs.at(0).shape.size();
  std::vector<int64_t> axes = c.attrs.value("axes", std::vector<int64_t>{});
  if (axes.empty())
    for (size_t d = 0; d < rank; ++d) axes.push_back(int64_t(d));
  std::vector<double> scales;
  const std::string policy = attr_str(c, "keep_aspect_ratio_policy", "stretch");
  if (c.inputs.size() > 2 && !c.inputs[2].name.empty()) {  // scales, for the listed axes
    scales.assign(rank, 1.0);
    for (size_t i = 0; i < axes.size(); ++i) scales[size_t(axes[i])] = c.inputs[2].values.at(i);
  } else if (policy != "stretch") {  // one scale for the listed axes, ONNX's rule
    const Array& sizes = c.inputs.at(3);
    double s = policy == "not_larger" ? INFINITY : 0;
    for (size_t i = 0; i < axes.size(); ++i) {
      const double f = sizes.values.at(i) / double(c.inputs[0].shape[size_t(axes[i])]);
      s = policy == "not_larger" ? std::min(s, f) : std::max(s, f);
    }
    scales.assign(rank, 1.0);
    for (int64_t a : axes) scales[size_t(a)] = s;
  }
  return run(c, r, mode, coord, attr_str(c, "nearest_mode", "round_prefer_floor"), scales);
}

// Upsample (opset 9, deprecated): output(o) = input(⌊o/scale⌋), ONNX's asymmetric transform.
std::vector<Array> upsample(const Case& c, const Run& r) {
  return run(c, r, attr_str(c, "mode", "nearest"), "asymmetric", "floor", c.inputs.at(1).values);
}

}  // namespace

void add_resize_mappings(std::map<std::string, Mapping>& m) {
  m.emplace("Resize", resize);
  m.emplace("Upsample", upsample);
}

}  // namespace cuseg::onnx_node
