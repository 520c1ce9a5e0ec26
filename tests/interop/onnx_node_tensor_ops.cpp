// The op types on whole tensors or along one axis: activations, Clip, Swish, Mul, Add, Concat,
// Split, (Log)Softmax, SoftmaxCrossEntropyLoss and the reductions (onnx_node_ops.cpp says how
// a mapping decides what is not expressible).
#include <cmath>

#include "cuseg/core/error.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/concat.h"
#include "cuseg/kernels/elementwise.h"
#include "cuseg/kernels/multiply.h"
#include "cuseg/kernels/reduce.h"
#include "cuseg/kernels/softmax.h"
#include "onnx_node_case.h"

namespace cuseg::onnx_node {
namespace {

std::vector<Array> activation(const Case& c, const Run& r, ActivationParams p) {
  need_floats(c);
  const Tensor x = tensor(input(c, 0), r);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  activation_forward(x, y, p, r.backend);
  return {array(y)};
}

// Clip's one cuseg counterpart is ReLU6, Clip(0, 6).
std::vector<Array> clip(const Case& c, const Run& r) {
  need_floats(c);
  const double lo = present(c, 1) ? c.inputs[1].values.at(0) : -INFINITY;
  const double hi = present(c, 2) ? c.inputs[2].values.at(0) : INFINITY;
  if (lo != 0 || hi != 6) cannot(str_cat("Clip(", lo, ", ", hi, "): cuseg's one clip is ReLU6, Clip(0, 6)"));
  return activation(c, r, {ActivationKind::Relu6});
}

// Both sides padded to rank 4 with leading ones (NumPy's broadcasting aligns the last axes).
std::vector<int64_t> rank4(std::vector<int64_t> s) {
  if (s.size() > 4) cannot(str_cat("rank ", s.size(), ": cuseg's tensors have rank 4 at most"));
  s.insert(s.begin(), 4 - s.size(), 1);
  return s;
}

Tensor reshaped(const Array& a, const Run& r, const std::vector<int64_t>& dims) {
  Array b = a;
  b.shape = dims;
  return tensor(b, r);
}

// Mul: multiply_forward's x has the output's shape, s broadcasts to it (a product commutes, so
// either operand may be x).
std::vector<Array> mul(const Case& c, const Run& r) {
  need_floats(c);
  const auto& out = c.outputs.at(0).shape;
  const bool first = c.inputs[0].shape == out;
  if (!first && c.inputs[1].shape != out) cannot("both operands broadcast: cuseg broadcasts one of them");
  const Array &x = input(c, first ? 0 : 1), &s = input(c, first ? 1 : 0);
  const Tensor xt = reshaped(x, r, rank4(x.shape)), st = reshaped(s, r, rank4(s.shape));
  Tensor y = Tensor::empty(xt.shape(), xt.dtype());
  multiply_forward(xt, st, y, r.backend);
  Array a = array(y);
  a.shape = out;
  return {a};
}

std::vector<Array> add_op(const Case& c, const Run& r) {
  need_floats(c);
  if (c.inputs[0].shape != c.inputs[1].shape) cannot("broadcasting: cuseg's add takes two tensors of one shape");
  const Tensor a = tensor(input(c, 0), r), b = tensor(input(c, 1), r);
  Tensor y = Tensor::empty(a.shape(), a.dtype());
  add(a, b, y, r.backend);
  return {array(y)};
}

// Concat and (Log)Softmax over `axis`: cuseg's run over the last axis, so the axis goes last.
std::vector<Array> concat(const Case& c, const Run& r) {
  need_floats(c);
  const size_t rank = c.inputs[0].shape.size();
  const Perm p = axis_last(rank, normalize_axis(attr_int(c, "axis", 0), rank));
  std::vector<Tensor> parts;
  for (size_t i = 0; i < c.inputs.size(); ++i) parts.push_back(tensor(input(c, i), r, p));
  Tensor y = Tensor::empty(tensor(c.outputs.at(0), r, p).shape(), parts[0].dtype());
  concat_channels(parts, y, r.backend);
  return {array(y, inverse(p))};
}

template <bool kLog>
std::vector<Array> softmax(const Case& c, const Run& r) {
  need_floats(c);
  const size_t rank = c.inputs[0].shape.size();
  const Perm p = axis_last(rank, normalize_axis(attr_int(c, "axis", -1), rank));
  const Tensor x = tensor(input(c, 0), r, p);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  if (kLog) log_softmax_forward(x, y, r.backend);
  else softmax_forward(x, y, r.backend);
  return {array(y, inverse(p))};
}

// cuseg's reductions take the whole tensor: axes empty (and noop_with_empty_axes unset) or all.
template <void (*kReduce)(const Tensor&, Tensor&, Backend)>
std::vector<Array> reduce(const Case& c, const Run& r) {
  need_floats(c, {1});
  const size_t rank = c.inputs[0].shape.size();
  std::vector<int64_t> axes = attr_ints(c, "axes", {});
  if (present(c, 1))
    for (double a : c.inputs[1].values) axes.push_back(int64_t(a));
  if (axes.empty() && attr_int(c, "noop_with_empty_axes", 0) != 0) cannot("no axes with noop_with_empty_axes: the identity");
  if (!axes.empty() && axes.size() != rank) cannot(str_cat("axes over ", axes.size(), " of ", rank, " dimensions: cuseg reduces whole tensors"));
  const Tensor x = tensor(input(c, 0), r);
  Tensor y = Tensor::empty(Shape{1}, x.dtype());
  kReduce(x, y, r.backend);
  Array a = array(y);
  a.shape = c.outputs.at(0).shape;
  return {a};
}

// Split along `axis` is split_channels with the axis last; the parts' sizes are the outputs'.
std::vector<Array> split(const Case& c, const Run& r) {
  need_floats(c, {1});
  const size_t rank = c.inputs[0].shape.size();
  for (int64_t d : c.inputs[0].shape)
    if (d == 0) cannot("a zero-sized tensor: cuseg refuses zero-sized dimensions");
  const Perm p = axis_last(rank, normalize_axis(attr_int(c, "axis", 0), rank));
  const Tensor x = tensor(input(c, 0), r, p);
  std::vector<Tensor> parts;
  for (const Array& o : c.outputs) parts.push_back(Tensor::empty(tensor(o, r, p).shape(), x.dtype()));
  split_channels(x, parts, r.backend);
  std::vector<Array> out;
  for (const Tensor& t : parts) out.push_back(array(t, inverse(p)));
  return out;
}

// SoftmaxCrossEntropyLoss: cuseg's is the weighted mean (reduction "mean") over scores
// [N, C, d...] with the classes moved last; the optional second output, log_prob, is
// log_softmax_forward's. Without ignore_index no label is ignored (cuseg's −1: labels are ≥ 0).
std::vector<Array> softmax_cross_entropy(const Case& c, const Run& r) {
  need_floats(c, {1});
  const std::string reduction = attr_str(c, "reduction", "mean");
  if (reduction != "mean") cannot("reduction " + reduction + ": cuseg's cross-entropy is the weighted mean");
  const size_t rank = c.inputs[0].shape.size();
  if (rank > 4) cannot(str_cat("rank ", rank, ": cuseg's tensors have rank 4 at most"));
  const Perm p = axis_last(rank, 1);
  const Tensor logits = tensor(input(c, 0), r, p);
  const Array& labels = input(c, 1);
  const Tensor lt = Tensor::from_vector(std::vector<int32_t>(labels.values.begin(), labels.values.end()),
                                        Shape(labels.shape.data(), int(labels.shape.size())));
  const Tensor weights = present(c, 2) ? tensor(input(c, 2), r) : Tensor();
  SoftmaxCrossEntropyParams sp;
  sp.ignore_index = int(attr_int(c, "ignore_index", -1));
  Tensor loss = Tensor::empty(Shape{1}, logits.dtype()), weight_sum = loss.clone();
  softmax_cross_entropy_forward(logits, lt, weights, loss, weight_sum, sp, r.backend);
  Array l = array(loss);
  l.shape.clear();  // ONNX's loss is a scalar
  std::vector<Array> out = {l};
  if (c.outputs.size() > 1) {
    Tensor log_prob = Tensor::empty(logits.shape(), logits.dtype());
    log_softmax_forward(logits, log_prob, r.backend);
    out.push_back(array(log_prob, inverse(p)));
  }
  return out;
}

}  // namespace

void add_tensor_mappings(std::map<std::string, Mapping>& m) {
  const std::map<std::string, Mapping> mine = {
      {"Mul", mul},
      {"Add", add_op},
      {"Relu", [](const Case& c, const Run& r) { return activation(c, r, {ActivationKind::Relu}); }},
      {"LeakyRelu",
       [](const Case& c, const Run& r) {
         return activation(c, r, {ActivationKind::LeakyRelu, attr_float(c, "alpha", 0.01)});
       }},
      {"Sigmoid", [](const Case& c, const Run& r) { return activation(c, r, {ActivationKind::Sigmoid}); }},
      {"Tanh", [](const Case& c, const Run& r) { return activation(c, r, {ActivationKind::Tanh}); }},
      {"Clip", clip},
      {"Concat", concat},
      {"Softmax", softmax<false>},
      {"LogSoftmax", softmax<true>},
      {"ReduceSum", reduce<reduce_sum>},
      {"ReduceMean", reduce<reduce_mean>},
      {"ReduceL2", reduce<reduce_l2_norm>},
      {"Split", split},
      {"SoftmaxCrossEntropyLoss", softmax_cross_entropy},
      {"Swish",  // x·σ(αx): SiLU where α = 1
       [](const Case& c, const Run& r) {
         if (attr_float(c, "alpha", 1) != 1) cannot(str_cat("alpha ", attr_float(c, "alpha", 1), ": cuseg's is SiLU, α = 1"));
         return activation(c, r, {ActivationKind::Silu});
       }},
  };
  m.insert(mine.begin(), mine.end());
}

}  // namespace cuseg::onnx_node
