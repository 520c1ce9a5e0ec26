// The mappings' shared helpers, the image op types (convolutions, pooling, normalization) and the
// table of every mapping. Each maps ONNX's attributes into cuseg's params, NCHW into NHWC, and
// throws NotExpressible, with the reason, for what cuseg's op does not define — decided from the
// attributes and shapes before computing, never by catching cuseg's refusals: a regression that
// makes cuseg refuse a case fails it instead of hiding it.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cuseg/core/error.h"
#include "cuseg/kernels/adaptive_pool2d.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/group_norm.h"
#include "cuseg/kernels/pool2d.h"
#include "onnx_node_case.h"

namespace cuseg::onnx_node {

const Perm kToNhwc = {0, 2, 3, 1};
const Perm kToNchw = {0, 3, 1, 2};

void cannot(const std::string& why) { throw NotExpressible{why}; }

Array permute(const Array& a, const Perm& perm) {
  const size_t rank = a.shape.size();
  if (perm.empty()) return a;
  Array out = a;
  std::vector<int64_t> stride(rank, 1);
  for (size_t d = rank - 1; d > 0; --d) stride[d - 1] = stride[d] * a.shape[d];
  for (size_t d = 0; d < rank; ++d) out.shape[d] = a.shape[size_t(perm[d])];
  std::vector<int64_t> idx(rank, 0);
  for (size_t flat = 0; flat < out.values.size(); ++flat) {  // idx: out's multi-index
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) src += idx[d] * stride[size_t(perm[d])];
    out.values[flat] = a.values[size_t(src)];
    for (size_t d = rank; d-- > 0;)
      if (++idx[d] < out.shape[d]) break;
      else idx[d] = 0;
  }
  return out;
}

Tensor tensor(const Array& a, const Run& r, const Perm& perm) {
  const Array p = permute(a, perm);
  if (p.shape.size() > 4) cannot(str_cat("rank ", p.shape.size(), ": cuseg's tensors have rank 4 at most"));
  const Shape shape(p.shape.data(), int(p.shape.size()));
  if (r.dtype == DType::F64) return Tensor::from_vector(p.values, shape);
  return Tensor::from_vector(std::vector<float>(p.values.begin(), p.values.end()), shape);
}

Array array(const Tensor& t, const Perm& perm) {
  Array a;
  for (int d = 0; d < t.rank(); ++d) a.shape.push_back(t.dim(d));
  a.values = t.to(DType::F64).to_vector<double>();
  a.has_data = true;
  return permute(a, perm);
}

int64_t attr_int(const Case& c, const char* name, int64_t fallback) {
  return c.attrs.contains(name) ? c.attrs[name].get<int64_t>() : fallback;
}
double attr_float(const Case& c, const char* name, double fallback) {
  return c.attrs.contains(name) ? c.attrs[name].get<double>() : fallback;
}
std::string attr_str(const Case& c, const char* name, const std::string& fallback) {
  return c.attrs.contains(name) ? c.attrs[name].get<std::string>() : fallback;
}
std::vector<int64_t> attr_ints(const Case& c, const char* name, std::vector<int64_t> fallback) {
  return c.attrs.contains(name) ? c.attrs[name].get<std::vector<int64_t>>() : fallback;
}

bool present(const Case& c, size_t i) { return i < c.inputs.size() && !c.inputs[i].name.empty(); }

// Every input tensor holds floats (cuseg computes in float32 and float64); `except` names input
// slots that hold integers by definition (Resize's sizes, Reduce's axes).
void need_floats(const Case& c, std::vector<size_t> except) {
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Array& a = c.inputs[i];
    if (!present(c, i) || std::find(except.begin(), except.end(), i) != except.end()) continue;
    if (a.dtype != "float32" && a.dtype != "float64") cannot("dtype " + a.dtype + ": cuseg computes in float32 and float64");
  }
}

// Input 0 is a batch of images (NCHW): cuseg's spatial ops are 2-D.
void need_images(const Case& c, const char* what) {
  const size_t rank = c.inputs.at(0).shape.size();
  if (rank != 4) cannot(str_cat(rank - 2, "-D ", what, ": cuseg's is 2-D (NCHW)"));
}

const Array& input(const Case& c, size_t i) {
  const Array& a = c.inputs.at(i);
  CUSEG_CHECK(a.has_data, c.name, ": input ", i, " (", a.dtype, ") has no data");
  return a;
}

Perm inverse(const Perm& p) {
  Perm q(p.size());
  for (size_t i = 0; i < p.size(); ++i) q[size_t(p[i])] = int(i);
  return q;
}

// Moves `axis` last (the channel position of cuseg's ops over an axis).
Perm axis_last(size_t rank, int64_t axis) {
  Perm p;
  for (size_t d = 0; d < rank; ++d)
    if (int64_t(d) != axis) p.push_back(int(d));
  p.push_back(int(axis));
  return p;
}

int64_t normalize_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + int64_t(rank) : axis; }

namespace {

// ONNX's pads [top, left, bottom, right] for a 2-D window (auto_pad included).
std::array<int64_t, 4> pads_2d(const Case& c, int64_t H, int64_t W, int64_t R, int64_t S,
                               const std::vector<int64_t>& stride, const std::vector<int64_t>& dil) {
  const std::string mode = attr_str(c, "auto_pad", "NOTSET");
  if (mode == "VALID") return {0, 0, 0, 0};
  if (mode == "NOTSET") {
    const auto p = attr_ints(c, "pads", {0, 0, 0, 0});
    return {p[0], p[1], p[2], p[3]};
  }
  std::array<int64_t, 4> p{};
  const int64_t in[2] = {H, W}, k[2] = {R, S};
  for (int a = 0; a < 2; ++a) {
    const int64_t out = (in[a] + stride[a] - 1) / stride[a];
    const int64_t total = std::max<int64_t>((out - 1) * stride[a] + (k[a] - 1) * dil[a] + 1 - in[a], 0);
    const int64_t small = total / 2, large = total - small;
    p[a] = mode == "SAME_UPPER" ? small : large;  // SAME_UPPER: the odd one at the end
    p[a + 2] = total - p[a];
  }
  return p;
}

std::vector<Array> conv(const Case& c, const Run& r) {
  need_floats(c);
  need_images(c, "convolution");
  const Array &x = input(c, 0), &w = input(c, 1);
  const auto stride = attr_ints(c, "strides", {1, 1}), dil = attr_ints(c, "dilations", {1, 1});
  const auto pads = pads_2d(c, x.shape[2], x.shape[3], w.shape[2], w.shape[3], stride, dil);
  Conv2dParams p;
  p.stride_h = int(stride[0]), p.stride_w = int(stride[1]), p.dil_h = int(dil[0]), p.dil_w = int(dil[1]);
  p.pad_h = int(pads[0]), p.pad_w = int(pads[1]), p.pad_bottom = int(pads[2]), p.pad_right = int(pads[3]);
  p.groups = int(attr_int(c, "group", 1));
  const Tensor xt = tensor(x, r, kToNhwc), wt = tensor(w, r, kToNhwc);  // W [K, C/g, R, S] → KRSC
  Tensor y = Tensor::empty(conv2d_output_shape(xt.shape(), wt.shape(), p), xt.dtype());
  conv2d_forward(xt, wt, y, p, r.backend);
  if (present(c, 2)) conv2d_bias_forward(y, tensor(input(c, 2), r), r.backend);
  return {array(y, kToNchw)};
}

// ONNX's (begin b, end e, output_padding o) crop b from the full transposed convolution's start
// and e − o from its end; cuseg's (pad, output_pad q) crop pad and pad − q: pad = b, q = o + b − e.
std::vector<Array> conv_transpose(const Case& c, const Run& r) {
  need_floats(c);
  need_images(c, "transposed convolution");
  if (attr_int(c, "group", 1) != 1) cannot("groups: cuseg's transposed convolution is ungrouped");
  const Array &x = input(c, 0), &w = input(c, 1);
  const auto stride = attr_ints(c, "strides", {1, 1}), dil = attr_ints(c, "dilations", {1, 1});
  const auto out_pad = attr_ints(c, "output_padding", {0, 0});
  std::vector<int64_t> begin(2, 0), end(2, 0);
  const std::string mode = attr_str(c, "auto_pad", "NOTSET");
  if (c.attrs.contains("pads")) {
    const auto p = attr_ints(c, "pads", {});
    begin = {p[0], p[1]}, end = {p[2], p[3]};
  } else if (mode == "SAME_UPPER" || mode == "SAME_LOWER" || c.attrs.contains("output_shape")) {
    // ONNX's rule: total = full + output_padding − output_shape, the odd one at the end for
    // SAME_UPPER, at the start otherwise (floor division, as its reference).
    const auto shape = attr_ints(c, "output_shape", {x.shape[2] * stride[0], x.shape[3] * stride[1]});
    for (int a = 0; a < 2; ++a) {
      const int64_t total = stride[a] * (x.shape[size_t(2 + a)] - 1) + out_pad[a] + (w.shape[size_t(2 + a)] - 1) * dil[a] + 1 - shape[a];
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      begin[a] = mode == "SAME_UPPER" ? half : total - half;
      end[a] = total - begin[a];
    }
  }
  ConvTranspose2dParams p;
  p.stride_h = int(stride[0]), p.stride_w = int(stride[1]), p.dil_h = int(dil[0]), p.dil_w = int(dil[1]);
  p.pad_h = int(begin[0]), p.pad_w = int(begin[1]);
  p.output_pad_h = int(out_pad[0] + begin[0] - end[0]), p.output_pad_w = int(out_pad[1] + begin[1] - end[1]);
  for (int q : {p.output_pad_h, p.output_pad_w})
    if (q < 0 || q >= std::min(p.stride_h, p.stride_w) || begin[0] < 0 || begin[1] < 0)
      cannot(str_cat("pads [", begin[0], ", ", begin[1], ", ", end[0], ", ", end[1], "] with output padding [",
                     out_pad[0], ", ", out_pad[1], "]: cuseg pads both sides alike, plus an output padding below the stride"));
  const Tensor xt = tensor(x, r, kToNhwc), wt = tensor(w, r, kToNhwc);  // W [Ci, Co, R, S] → [Ci, R, S, Co]
  Tensor y = Tensor::empty(conv_transpose2d_output_shape(xt.shape(), wt.shape(), p), xt.dtype());
  conv_transpose2d_forward(xt, wt, y, p, r.backend);
  if (present(c, 2)) conv2d_bias_forward(y, tensor(input(c, 2), r), r.backend);
  return {array(y, kToNchw)};
}

Pool2dParams pool_params(const Case& c) {
  need_floats(c);
  need_images(c, "pooling");
  const auto k = attr_ints(c, "kernel_shape", {});
  const auto stride = attr_ints(c, "strides", {1, 1});  // ONNX's default stride is 1, cuseg's 2
  const auto dil = attr_ints(c, "dilations", {1, 1});
  if (dil[0] != 1 || dil[1] != 1) cannot("dilations: cuseg's pooling windows are dense");
  const auto& x = c.inputs[0].shape;
  const auto pads = pads_2d(c, x[2], x[3], k[0], k[1], stride, dil);
  if (pads[0] != pads[2] || pads[1] != pads[3])
    cannot(str_cat("asymmetric pads [", pads[0], ", ", pads[1], ", ", pads[2], ", ", pads[3],
                   "]: cuseg pads both sides alike"));
  if (2 * pads[0] > k[0] || 2 * pads[1] > k[1])
    cannot(str_cat("pads ", pads[0], "x", pads[1], " over half the ", k[0], "x", k[1],
                   " window: cuseg refuses them (PyTorch's rule)"));
  Pool2dParams p;
  p.kernel_h = int(k[0]), p.kernel_w = int(k[1]), p.stride_h = int(stride[0]), p.stride_w = int(stride[1]);
  p.pad_h = int(pads[0]), p.pad_w = int(pads[1]);
  p.ceil_mode = attr_int(c, "ceil_mode", 0) != 0;
  p.count_include_pad = attr_int(c, "count_include_pad", 0) != 0;
  return p;
}

// Indices (the second output): ONNX's flat index into the whole NCHW tensor, row-major or, with
// storage_order 1, column-major within the plane; cuseg's argmax is h·W + w within the plane.
std::vector<Array> max_pool(const Case& c, const Run& r) {
  const Pool2dParams p = pool_params(c);
  const Tensor xt = tensor(input(c, 0), r, kToNhwc);
  Tensor y = Tensor::empty(pool2d_output_shape(xt.shape(), p), xt.dtype());
  Tensor argmax = Tensor::empty(y.shape(), DType::I32);
  max_pool2d_forward(xt, y, argmax, p, r.backend);
  std::vector<Array> out = {array(y, kToNchw)};
  if (c.outputs.size() > 1) {
    Array idx = array(argmax.to(DType::F64), kToNchw);  // [N, C, P, Q]
    const int64_t P = idx.shape[2], Q = idx.shape[3], H = xt.dim(1), W = xt.dim(2);
    const bool column_major = attr_int(c, "storage_order", 0) == 1;
    for (size_t i = 0; i < idx.values.size(); ++i) {
      const int64_t plane = int64_t(i) / (P * Q), hw = int64_t(idx.values[i]), h = hw / W, w = hw % W;
      idx.values[i] = double(plane * H * W + (column_major ? w * H + h : hw));
    }
    out.push_back(idx);
  }
  return out;
}

std::vector<Array> avg_pool(const Case& c, const Run& r) {
  const Pool2dParams p = pool_params(c);
  const Tensor xt = tensor(input(c, 0), r, kToNhwc);
  Tensor y = Tensor::empty(pool2d_output_shape(xt.shape(), p), xt.dtype());
  avg_pool2d_forward(xt, y, p, r.backend);
  return {array(y, kToNchw)};
}

std::vector<Array> global_avg_pool(const Case& c, const Run& r) {
  need_floats(c);
  need_images(c, "global pooling");
  const Tensor xt = tensor(input(c, 0), r, kToNhwc);
  Tensor y = Tensor::empty(Shape{xt.dim(0), 1, 1, xt.dim(3)}, xt.dtype());
  adaptive_avg_pool2d_forward(xt, y, r.backend);
  return {array(y, kToNchw)};
}

// Training mode: ONNX's momentum m keeps m of the running statistics (running·m + batch·(1 − m));
// cuseg's (PyTorch's) momentum is the batch's share, so it is 1 − m.
std::vector<Array> batch_norm(const Case& c, const Run& r) {
  need_floats(c);
  need_images(c, "batch normalization");
  BatchNormParams p;
  p.eps = attr_float(c, "epsilon", 1e-5);
  p.momentum = 1 - attr_float(c, "momentum", 0.9);
  const Tensor x = tensor(input(c, 0), r, kToNhwc), gamma = tensor(input(c, 1), r), beta = tensor(input(c, 2), r);
  Tensor mean = tensor(input(c, 3), r), var = tensor(input(c, 4), r);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  if (attr_int(c, "training_mode", 0) == 0) {
    batch_norm_forward_inference(x, gamma, beta, mean, var, y, p, r.backend);
    return {array(y, kToNchw)};
  }
  Tensor save_mean = Tensor::empty(mean.shape(), x.dtype()), save_invstd = Tensor::empty(mean.shape(), x.dtype());
  batch_norm_forward_training(x, gamma, beta, y, save_mean, save_invstd, mean, var, p, r.backend);
  return {array(y, kToNchw), array(mean), array(var)};
}

std::vector<Array> group_norm(const Case& c, const Run& r, int64_t groups) {
  need_floats(c);
  need_images(c, "normalization");
  GroupNormParams p;
  p.groups = int(groups);
  p.eps = attr_float(c, "epsilon", 1e-5);
  const Tensor x = tensor(input(c, 0), r, kToNhwc), gamma = tensor(input(c, 1), r), beta = tensor(input(c, 2), r);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor save_mean = Tensor::empty(Shape{x.dim(0), groups}, x.dtype()), save_invstd = save_mean.clone();
  group_norm_forward(x, gamma, beta, y, save_mean, save_invstd, p, r.backend);
  return {array(y, kToNchw)};
}

}  // namespace

const std::map<std::string, Mapping>& mappings() {
  static const std::map<std::string, Mapping> m = [] {
    std::map<std::string, Mapping> all = {
        {"Conv", conv},
        {"ConvTranspose", conv_transpose},
        {"MaxPool", max_pool},
        {"AveragePool", avg_pool},
        {"GlobalAveragePool", global_avg_pool},
        {"BatchNormalization", batch_norm},
        {"GroupNormalization",
         [](const Case& c, const Run& r) { return group_norm(c, r, attr_int(c, "num_groups", 1)); }},
        {"InstanceNormalization",  // group normalization with a group per channel
         [](const Case& c, const Run& r) { return group_norm(c, r, c.inputs[0].shape.at(1)); }},
    };
    add_resize_mappings(all);
    add_tensor_mappings(all);
    return all;
  }();
  return m;
}

}  // namespace cuseg::onnx_node
