#include "cuseg/interop/onnx.h"

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "cuseg/config.h"
#include "cuseg/core/atomic_file.h"
#include "cuseg/core/error.h"
#include "cuseg/core/protobuf.h"
#include "cuseg/interop/layouts.h"
#include "cuseg/layers/layers.h"

namespace cuseg {

namespace {

using json = nlohmann::json;
using pb::put_bytes;
using pb::put_float;
using pb::put_int;

// Field numbers and enum values of onnx/onnx.proto (IR version 8).
namespace model {
constexpr uint32_t kIrVersion = 1, kProducerName = 2, kProducerVersion = 3, kGraph = 7,
                   kOpsetImport = 8, kMetadataProps = 14;
}
namespace graph {
constexpr uint32_t kNode = 1, kName = 2, kInitializer = 5, kInput = 11, kOutput = 12;
}
namespace node {
constexpr uint32_t kInput = 1, kOutput = 2, kName = 3, kOpType = 4, kAttribute = 5;
}
namespace attr {
constexpr uint32_t kName = 1, kF = 2, kI = 3, kS = 4, kInts = 8, kType = 20;
constexpr int64_t kFloat = 1, kInt = 2, kString = 3, kIntsType = 7;
}  // namespace attr
namespace tensor {
constexpr uint32_t kDims = 1, kDataType = 2, kName = 8, kRawData = 9;
constexpr int64_t kFloat = 1, kInt64 = 7;
}  // namespace tensor
constexpr int64_t kIrVersion8 = 8, kOpset = 17;

// An AttributeProto: its name and type, then the value in the field of that type.
struct Attribute {
  std::string bytes;
  Attribute(const std::string& name, int64_t type) {
    put_bytes(bytes, attr::kName, name);
    put_int(bytes, attr::kType, type);
  }
  static Attribute ints(const std::string& name, const std::vector<int64_t>& values) {
    Attribute a(name, attr::kIntsType);
    for (int64_t v : values) put_int(a.bytes, attr::kInts, v);
    return a;
  }
  static Attribute integer(const std::string& name, int64_t v) {
    Attribute a(name, attr::kInt);
    put_int(a.bytes, attr::kI, v);
    return a;
  }
  static Attribute real(const std::string& name, float v) {
    Attribute a(name, attr::kFloat);
    put_float(a.bytes, attr::kF, v);
    return a;
  }
  static Attribute text(const std::string& name, const std::string& v) {
    Attribute a(name, attr::kString);
    put_bytes(a.bytes, attr::kS, v);
    return a;
  }
};

// The GraphProto under construction.
class GraphWriter {
 public:
  void node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
            const std::string& output, const std::vector<Attribute>& attributes = {}) {
    std::string n;
    for (const std::string& in : inputs) put_bytes(n, node::kInput, in);
    put_bytes(n, node::kOutput, output);
    put_bytes(n, node::kName, name);
    put_bytes(n, node::kOpType, op);
    for (const Attribute& a : attributes) put_bytes(n, node::kAttribute, a.bytes);
    put_bytes(graph_, graph::kNode, n);
  }

  // A float32 initializer with these dims and values (row-major).
  void initializer(const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& values) {
    raw_initializer(name, dims, tensor::kFloat, values.data(), values.size() * sizeof(float));
  }

  // An int64 initializer (shapes for Reshape).
  void int64_initializer(const std::string& name, const std::vector<int64_t>& dims,
                         const std::vector<int64_t>& values) {
    raw_initializer(name, dims, tensor::kInt64, values.data(), values.size() * sizeof(int64_t));
  }

  // An int64 initializer (Resize's sizes, for one).
  void initializer_i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
    std::string t;
    for (int64_t d : dims) put_int(t, tensor::kDims, d);
    put_int(t, tensor::kDataType, tensor::kInt64);
    put_bytes(t, tensor::kName, name);
    put_bytes(t, tensor::kRawData, values.data(), values.size() * sizeof(int64_t));
    put_bytes(graph_, graph::kInitializer, t);
  }

  // A graph input or output: a tensor of `elem_type` whose dims are names (dynamic) or sizes.
  void value(uint32_t field, const std::string& name, int64_t elem_type,
             const std::vector<json>& dims) {
    std::string shape;
    for (const json& d : dims) {
      std::string dim;
      if (d.is_string())
        put_bytes(dim, 2, d.get<std::string>());  // dim_param
      else
        put_int(dim, 1, d.get<int64_t>());  // dim_value
      put_bytes(shape, 1, dim);
    }
    std::string tensor_type;
    put_int(tensor_type, 1, elem_type);  // elem_type
    put_bytes(tensor_type, 2, shape);    // shape
    std::string type;
    put_bytes(type, 1, tensor_type);  // TypeProto.tensor_type
    std::string v;
    put_bytes(v, 1, name);  // ValueInfoProto.name
    put_bytes(v, 2, type);  // ValueInfoProto.type
    put_bytes(graph_, field, v);
  }

  std::string finish(const std::string& name) {
    put_bytes(graph_, graph::kName, name);
    return std::move(graph_);
  }

 private:
  void raw_initializer(const std::string& name, const std::vector<int64_t>& dims, int64_t data_type,
                       const void* data, size_t bytes) {
    std::string t;
    for (int64_t d : dims) put_int(t, tensor::kDims, d);
    put_int(t, tensor::kDataType, data_type);
    put_bytes(t, tensor::kName, name);
    put_bytes(t, tensor::kRawData, data, bytes);
    put_bytes(graph_, graph::kInitializer, t);
  }

  std::string graph_;
};

std::vector<float> host_floats(const Tensor& t) {
  return t.to(Device::cpu()).to(DType::F32).to_vector<float>();
}

std::vector<int64_t> dims_of(const Tensor& t) {
  std::vector<int64_t> d;
  for (int i = 0; i < t.rank(); ++i) d.push_back(t.dim(i));
  return d;
}

// The nodes of one layer, reading `in` and writing `out` (ONNX value names).
void add_layer(GraphWriter& g, const Layer& layer, const std::vector<std::string>& in,
               const std::string& out) {
  const std::string& name = layer.name();
  std::vector<int64_t> dims;
  // Conv and ConvTranspose: weights [A, R, S, B] as [A, B, R, S] — KRSC → OIHW, and the
  // transposed convolution's [Ci, R, S, Co] → [Ci, Co, R, S] — and the bias if any.
  // ONNX's pads are [top, left, bottom, right] (all begins, then all ends).
  auto conv_node = [&](const char* op, const Tensor& weight, const Tensor* bias, int stride_h,
                       int stride_w, std::vector<int64_t> pads, int dil_h, int dil_w,
                       std::vector<Attribute> extra) {
    const Tensor w = to_nchw_weights(weight);
    dims = dims_of(w);
    g.initializer(name + ".weight", dims, w.to_vector<float>());
    std::vector<std::string> inputs = {in[0], name + ".weight"};
    if (bias) {
      g.initializer(name + ".bias", dims_of(*bias), host_floats(*bias));
      inputs.push_back(name + ".bias");
    }
    extra.insert(extra.begin(), {Attribute::ints("kernel_shape", {dims[2], dims[3]}),
                                 Attribute::ints("strides", {stride_h, stride_w}),
                                 Attribute::ints("pads", std::move(pads)),
                                 Attribute::ints("dilations", {dil_h, dil_w})});
    g.node(op, name, inputs, out, extra);
  };
  if (const auto* conv = dynamic_cast<const Conv2d*>(&layer)) {
    const Conv2dParams& p = conv->params();
    // Grouped: ONNX's weight is [K, C/group, R, S], which is ours permuted as for one group.
    conv_node("Conv", conv->weight(), conv->bias(), p.stride_h, p.stride_w,
              {p.pad_h, p.pad_w, p.bottom(), p.right()}, p.dil_h, p.dil_w,
              {Attribute::integer("group", p.groups)});
    return;
  }
  if (const auto* up = dynamic_cast<const ConvTranspose2d*>(&layer)) {
    const ConvTranspose2dParams& p = up->params();
    conv_node("ConvTranspose", up->weight(), up->bias(), p.stride_h, p.stride_w,
              {p.pad_h, p.pad_w, p.pad_h, p.pad_w}, p.dil_h, p.dil_w,
              {Attribute::ints("output_padding", {p.output_pad_h, p.output_pad_w})});
    return;
  }
  if (const auto* bn = dynamic_cast<const BatchNorm2d*>(&layer)) {
    for (const auto& [suffix, t] : {std::pair<const char*, const Tensor*>{".weight", &bn->gamma()},
                                    {".bias", &bn->beta()},
                                    {".running_mean", &bn->running_mean()},
                                    {".running_var", &bn->running_var()}})
      g.initializer(name + suffix, dims_of(*t), host_floats(*t));
    const std::string normalized = bn->relu() ? name + ".normalized" : out;
    g.node("BatchNormalization", name,
           {in[0], name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"},
           normalized, {Attribute::real("epsilon", float(bn->params().eps))});
    if (bn->relu()) g.node("Relu", name + ".relu", {normalized}, out);
    return;
  }
  if (const auto* act = dynamic_cast<const Activation*>(&layer)) {
    const ActivationParams& p = act->params();
    switch (p.kind) {
      case ActivationKind::Relu:
        g.node("Relu", name, {in[0]}, out);
        return;
      case ActivationKind::LeakyRelu:
        g.node("LeakyRelu", name, {in[0]}, out,
               {Attribute::real("alpha", float(p.negative_slope))});
        return;
      case ActivationKind::Sigmoid:
        g.node("Sigmoid", name, {in[0]}, out);
        return;
      case ActivationKind::Tanh:
        g.node("Tanh", name, {in[0]}, out);
        return;
      case ActivationKind::Relu6:  // Clip's bounds are scalar inputs since opset 11
        g.initializer(name + ".min", {}, {0.f});
        g.initializer(name + ".max", {}, {6.f});
        g.node("Clip", name, {in[0], name + ".min", name + ".max"}, out);
        return;
      case ActivationKind::Silu:  // opset 17 has no SiLU: x · Sigmoid(x)
        g.node("Sigmoid", name + ".sigmoid", {in[0]}, name + ".sigmoid");
        g.node("Mul", name, {in[0], name + ".sigmoid"}, out);
        return;
    }
  }
  if (dynamic_cast<const Multiply*>(&layer)) {  // NCHW on both sides: ONNX's broadcasting is the layer's
    g.node("Mul", name, in, out);
    return;
  }
  if (const auto* pool = dynamic_cast<const Pool2d*>(&layer)) {
    const Pool2dParams& p = pool->params();
    std::vector<Attribute> a = {Attribute::ints("kernel_shape", {p.kernel_h, p.kernel_w}),
                                Attribute::ints("strides", {p.stride_h, p.stride_w}),
                                Attribute::ints("pads", {p.pad_h, p.pad_w, p.pad_h, p.pad_w})};
    if (!pool->is_max())
      a.push_back(Attribute::integer("count_include_pad", p.count_include_pad ? 1 : 0));
    a.push_back(Attribute::integer("ceil_mode", p.ceil_mode ? 1 : 0));
    g.node(pool->is_max() ? "MaxPool" : "AveragePool", name, {in[0]}, out, a);
    return;
  }
  if (const auto* pool = dynamic_cast<const AdaptiveAvgPool2d*>(&layer)) {
    // ONNX has global average pooling only; other sizes would need the input's size at export.
    CUSEG_CHECK(pool->is_global(), "ONNX export: layer '", name, "' of kind ", layer.kind(), " pools to ",
                pool->height(), "x", pool->width(), ": only 1x1 (GlobalAveragePool) has an ONNX mapping");
    g.node("GlobalAveragePool", name, {in[0]}, out);
    return;
  }
  if (const auto* resize = dynamic_cast<const Upsample*>(&layer)) {
    // Coordinates as kernels/upsample.h: nearest ⌊o·in/out⌋ (asymmetric, floor); bilinear
    // half_pixel, which is PyTorch's align_corners=False for every size (pytorch_half_pixel differs
    // from it at out = 1, where PyTorch still reads (in − 1)/2); align_corners.
    std::vector<Attribute> a;
    switch (resize->mode()) {
      case UpsampleMode::Nearest:
        a = {Attribute::text("mode", "nearest"), Attribute::text("coordinate_transformation_mode", "asymmetric"),
             Attribute::text("nearest_mode", "floor")};
        break;
      case UpsampleMode::Bilinear:
        a = {Attribute::text("mode", "linear"), Attribute::text("coordinate_transformation_mode", "half_pixel")};
        break;
      case UpsampleMode::BilinearAlignCorners:
        a = {Attribute::text("mode", "linear"), Attribute::text("coordinate_transformation_mode", "align_corners")};
        break;
    }
    if (resize->size_from() == Upsample::SizeFrom::Scale) {
      const float s = float(resize->scale());
      g.initializer(name + ".scales", {4}, {1.f, 1.f, s, s});
      g.node("Resize", name, {in[0], "", name + ".scales"}, out, a);
      return;
    }
    // sizes = [N, C] of the input, then H, W: fixed, or the second input's.
    g.node("Shape", name + ".nc", {in[0]}, name + ".nc", {Attribute::integer("start", 0), Attribute::integer("end", 2)});
    if (resize->size_from() == Upsample::SizeFrom::Fixed)
      g.initializer_i64(name + ".hw", {2}, {resize->height(), resize->width()});
    else
      g.node("Shape", name + ".hw", {in[1]}, name + ".hw", {Attribute::integer("start", 2), Attribute::integer("end", 4)});
    g.node("Concat", name + ".sizes", {name + ".nc", name + ".hw"}, name + ".sizes", {Attribute::integer("axis", 0)});
    g.node("Resize", name, {in[0], "", "", name + ".sizes"}, out, a);
    return;
  }
  if (dynamic_cast<const Concat*>(&layer)) {
    g.node("Concat", name, in, out, {Attribute::integer("axis", 1)});
    return;
  }
  if (const auto* gn = dynamic_cast<const GroupNorm*>(&layer)) {
    // GroupNormalization is opset 18 (and scales per group there until 21): as PyTorch exports
    // it at opset 17, InstanceNormalization (γ = 1, β = 0) over [N, G, H·W·C/G], back to the
    // input's shape, then the per-channel affine.
    const int64_t groups = gn->params().groups, channels = gn->gamma().dim(0);
    g.int64_initializer(name + ".grouped_shape", {3}, {0, groups, -1});
    g.initializer(name + ".ones", {groups}, std::vector<float>(size_t(groups), 1.f));
    g.initializer(name + ".zeros", {groups}, std::vector<float>(size_t(groups), 0.f));
    g.initializer(name + ".weight", {channels, 1, 1}, host_floats(gn->gamma()));
    g.initializer(name + ".bias", {channels, 1, 1}, host_floats(gn->beta()));
    g.node("Reshape", name + ".group", {in[0], name + ".grouped_shape"}, name + ".grouped");
    g.node("InstanceNormalization", name + ".normalize", {name + ".grouped", name + ".ones", name + ".zeros"},
           name + ".normalized", {Attribute::real("epsilon", float(gn->params().eps))});
    g.node("Shape", name + ".shape", {in[0]}, name + ".input_shape");
    g.node("Reshape", name + ".ungroup", {name + ".normalized", name + ".input_shape"}, name + ".ungrouped");
    g.node("Mul", name + ".scale", {name + ".ungrouped", name + ".weight"}, name + ".scaled");
    const std::string affine = gn->relu() ? name + ".affine" : out;
    g.node("Add", name, {name + ".scaled", name + ".bias"}, affine);
    if (gn->relu()) g.node("Relu", name + ".relu", {affine}, out);
    return;
  }
  if (dynamic_cast<const BinaryLogits*>(&layer)) {  // (0, z): ConstantOfShape's default is float 0
    g.node("Shape", name + ".shape", {in[0]}, name + ".shape");
    g.node("ConstantOfShape", name + ".zeros", {name + ".shape"}, name + ".zeros");
    g.node("Concat", name, {name + ".zeros", in[0]}, out, {Attribute::integer("axis", 1)});
    return;
  }
  if (dynamic_cast<const Dropout*>(&layer)) {  // evaluation: the identity (Dropout2d, DropPath too)
    g.node("Identity", name, {in[0]}, out);
    return;
  }
  if (const auto* sum = dynamic_cast<const Add*>(&layer)) {
    if (!sum->relu()) {
      g.node("Add", name, in, out);
    } else {
      g.node("Add", name, in, name + ".sum");
      g.node("Relu", name + ".relu", {name + ".sum"}, out);
    }
    return;
  }
  throw_error(
      str_cat("ONNX export: layer '", name, "' of kind ", layer.kind(), " has no ONNX mapping"));
}

const char* kInputContract =
    "image: float32 [N, C, H, W], 8-bit pixel values / 255 in file channel order; H and W "
    "multiples of the "
    "network's multiple; the normalization below is applied inside the graph";

}  // namespace

OnnxHead parse_onnx_head(const std::string& name) {
  if (name == "logits") return OnnxHead::Logits;
  if (name == "softmax") return OnnxHead::Probabilities;
  if (name == "argmax") return OnnxHead::Classes;
  throw_error(str_cat("--head '", name, "': expected logits, softmax or argmax"));
}

std::string onnx_model(Graph& model, const ModelInfo& info, OnnxHead head) {
  const int C = info.config.in_channels, multiple = info.config.input_multiple();
  model.set_training(false);
  // Any input the network takes gives the order and the channels. Twice the multiple: an
  // EfficientNet below depth 5 runs blocks one stage past its features (as SMP does), whose
  // static padding leaves nothing of an input of the multiple itself.
  model.compile({{"image", Shape{1, 2 * multiple, 2 * multiple, C}}});
  CUSEG_CHECK(model.input_names() == std::vector<std::string>{"image"} &&
                  model.output_names() == std::vector<std::string>{"logits"},
              "ONNX export: the graph must read 'image' and write 'logits'");
  GraphWriter g;
  g.value(graph::kInput, "image", tensor::kFloat, {"N", C, "H", "W"});
  std::string image = "image";
  if (!info.normalization.empty()) {
    std::vector<float> mean, std;
    for (int c = 0; c < C; ++c) {
      mean.push_back(float(info.normalization.mean[size_t(c)]));
      std.push_back(float(info.normalization.std[size_t(c)]));
    }
    g.initializer("normalization.mean", {1, C, 1, 1}, mean);
    g.initializer("normalization.std", {1, C, 1, 1}, std);
    g.node("Sub", "normalization.sub", {"image", "normalization.mean"}, "image.centred");
    g.node("Div", "normalization.div", {"image.centred", "normalization.std"}, "image.normalized");
    image = "image.normalized";
  }
  for (const Graph::NodeRef& n : model.execution_order()) {
    std::vector<std::string> inputs;
    for (const std::string& in : n.inputs) inputs.push_back(in == "image" ? image : in);
    add_layer(g, n.layer, inputs, n.output);
  }
  const int K = info.config.label_classes();
  switch (head) {
    case OnnxHead::Logits:
      g.value(graph::kOutput, "logits", tensor::kFloat, {"N", K, "H", "W"});
      break;
    case OnnxHead::Probabilities:
      g.node("Softmax", "head.softmax", {"logits"}, "probabilities",
             {Attribute::integer("axis", 1)});
      g.value(graph::kOutput, "probabilities", tensor::kFloat, {"N", K, "H", "W"});
      break;
    case OnnxHead::Classes:
      g.node("ArgMax", "head.argmax", {"logits"}, "classes",
             {Attribute::integer("axis", 1), Attribute::integer("keepdims", 0)});
      g.value(graph::kOutput, "classes", tensor::kInt64, {"N", "H", "W"});
      break;
  }

  std::string m;
  put_int(m, model::kIrVersion, kIrVersion8);
  std::string opset;
  put_bytes(opset, 1, std::string());  // domain "": the default operator set
  put_int(opset, 2, kOpset);
  put_bytes(m, model::kOpsetImport, opset);
  put_bytes(m, model::kProducerName, std::string("cuseg"));
  put_bytes(m, model::kProducerVersion, std::string(CUSEG_VERSION));
  put_bytes(m, model::kGraph, g.finish("cuseg_unet"));
  std::map<std::string, std::string> meta = info.to_metadata();
  std::map<std::string, std::string> props = {{"input_contract", kInputContract}};
  for (const char* key : {"classes", "palette", "normalization", "model", "input", "ignore_index"})
    if (meta.count(key)) props[key] = meta.at(key);
  props["multiple"] = std::to_string(multiple);
  for (const auto& [key, value] : props) {
    std::string entry;
    put_bytes(entry, 1, key);
    put_bytes(entry, 2, value);
    put_bytes(m, model::kMetadataProps, entry);
  }
  return m;
}

void export_onnx(const std::string& path, Graph& model, const ModelInfo& info, OnnxHead head) {
  const std::string bytes = onnx_model(model, info, head);
  write_file_atomically(path, [&](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

}  // namespace cuseg
