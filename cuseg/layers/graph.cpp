#include "cuseg/layers/graph.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "cuseg/kernels/elementwise.h"
#include "cuseg/kernels/reduce.h"

namespace cuseg {

void Graph::add_input(const std::string& name, int channels, int multiple) {
  CUSEG_CHECK(channels > 0 && multiple > 0, "graph: input '", name, "' needs channels > 0 and multiple > 0");
  inputs_.push_back({name, channels, multiple});
  compiled_for_.clear();
}

Layer& Graph::add(std::unique_ptr<Layer> layer, const std::vector<std::string>& inputs, const std::string& output) {
  CUSEG_CHECK(layer != nullptr, "graph: null layer");
  CUSEG_CHECK(int(inputs.size()) == layer->num_inputs(), "graph: ", layer->kind(), " '", layer->name(), "' takes ",
              layer->num_inputs(), " inputs, given ", inputs.size());
  adopt(*layer);
  nodes_.push_back({std::move(layer), inputs, output});
  compiled_for_.clear();
  return *nodes_.back().layer;
}

Layer& Graph::add_unused(std::unique_ptr<Layer> layer) {
  CUSEG_CHECK(layer != nullptr, "graph: null layer");
  adopt(*layer);
  unused_.push_back(std::move(layer));
  return *unused_.back();
}

void Graph::adopt(Layer& layer) {
  for (Layer* l : layers())
    CUSEG_CHECK(l->name() != layer.name(), "graph: two layers named '", layer.name(), "'");
  layer.set_training(training_);
  if (device_ != Device::cpu()) layer.to(device_);
  if (dtype_ != DType::F32) layer.to(dtype_);
}

void Graph::add_output(const std::string& name) {
  outputs_.push_back(name);
  compiled_for_.clear();
}

void Graph::compile(const std::map<std::string, Shape>& input_shapes) {
  if (!compiled_for_.empty() && compiled_for_ == input_shapes) return;
  // Producers: graph inputs and layer outputs, each name produced once.
  std::map<std::string, int> producer;  // −1: a graph input
  for (const Input& in : inputs_) CUSEG_CHECK(producer.emplace(in.name, -1).second, "graph: input '", in.name, "' defined twice");
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    auto [it, fresh] = producer.emplace(n.output, int(i));
    CUSEG_CHECK(fresh, "graph: layer '", n.layer->name(), "' writes '", n.output, "', which ",
                it->second < 0 ? std::string("is a graph input") : "layer '" + nodes_[size_t(it->second)].layer->name() + "' already writes");
  }
  for (const Node& n : nodes_)
    for (const std::string& t : n.inputs)
      CUSEG_CHECK(producer.count(t), "graph: layer '", n.layer->name(), "' reads unknown tensor '", t, "'");
  for (const std::string& t : outputs_) CUSEG_CHECK(producer.count(t), "graph: output '", t, "' is not produced by any layer");

  // Kahn's algorithm; what is left unsorted lies on a cycle.
  std::vector<int> pending(nodes_.size(), 0);
  std::map<std::string, std::vector<int>> readers;
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (const std::string& t : nodes_[i].inputs) {
      if (producer.at(t) >= 0) ++pending[i];
      readers[t].push_back(int(i));
    }
  std::vector<int> ready, order;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (pending[i] == 0) ready.push_back(int(i));
  while (!ready.empty()) {
    const int i = ready.front();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int r : readers[nodes_[size_t(i)].output])
      if (--pending[size_t(r)] == 0) ready.push_back(r);
  }
  if (order.size() != nodes_.size()) {
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (pending[i] > 0)
        throw_error(str_cat("graph: layer '", nodes_[i].layer->name(), "' is on a cycle (it reads '", nodes_[i].inputs[0],
                            "', which depends on its own output '", nodes_[i].output, "')"));
  }

  // Shapes, in order; layers name themselves in their errors.
  std::map<std::string, Shape> shapes;
  for (const Input& in : inputs_) {
    auto it = input_shapes.find(in.name);
    CUSEG_CHECK(it != input_shapes.end(), "graph: no shape given for input '", in.name, "'");
    const Shape& s = it->second;
    CUSEG_CHECK(s.rank() == 4 && s[3] == in.channels, "graph: input '", in.name, "' is ", s.str(), ", expected NHWC with ",
                in.channels, " channels");
    CUSEG_CHECK(s[1] % in.multiple == 0 && s[2] % in.multiple == 0, "graph: input '", in.name, "' is ", s.str(),
                ": height and width must be multiples of ", in.multiple, " for this network's depth");
    shapes[in.name] = s;
  }
  std::map<std::string, int> last_reader;
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const Node& n = nodes_[size_t(order[pos])];
    std::vector<Shape> in;
    for (const std::string& t : n.inputs) {
      in.push_back(shapes.at(t));
      last_reader[t] = int(pos);
    }
    shapes[n.output] = n.layer->output_shape(in);
  }
  order_ = order;
  shapes_ = shapes;
  last_reader_ = last_reader;
  compiled_for_ = input_shapes;
}

void Graph::forward(const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Shape> input_shapes;
  for (const auto& [name, t] : inputs) input_shapes[name] = t.shape();
  compile(input_shapes);
  values_.clear();
  grads_.clear();
  for (const auto& [name, t] : inputs) {
    CUSEG_CHECK(t.device() == device_ && t.dtype() == dtype_, "graph: input '", name, "' is ", t.str(),
                ", the graph is on ", device_.str(), " in ", dtype_name(dtype_));
    values_[name] = t;
  }
  const std::set<std::string> outputs(outputs_.begin(), outputs_.end());
  for (size_t pos = 0; pos < order_.size(); ++pos) {
    Node& n = nodes_[size_t(order_[pos])];
    std::vector<Tensor> in;
    for (const std::string& t : n.inputs) in.push_back(values_.at(t));
    try {
      Tensor out = Tensor::empty(shapes_.at(n.output), dtype_, device_);
      n.layer->forward(in, out);
      values_[n.output] = out;
    } catch (const OutOfMemory& e) {
      throw OutOfMemory(str_cat("forward of ", n.layer->kind(), " '", n.layer->name(), "' (output '", n.output, "' ",
                                shapes_.at(n.output).str(), "): ", e.what()));
    }
    if (!training_)  // nothing will run backward: free what no later layer reads
      for (const std::string& t : n.inputs)
        if (last_reader_.at(t) == int(pos) && !outputs.count(t) && !inputs.count(t)) values_.erase(t);
  }
}

const Tensor& Graph::get(const std::string& tensor) const {
  auto it = values_.find(tensor);
  CUSEG_CHECK(it != values_.end(), "graph: tensor '", tensor, "' is not available (unknown, or freed in evaluation mode)");
  return it->second;
}

void Graph::backward(const std::map<std::string, Tensor>& output_grads,
                     const std::function<void(Layer&)>& after_layer) {
  CUSEG_CHECK(training_, "graph: backward needs a training-mode forward");
  std::set<std::string> graph_inputs;
  for (const Input& in : inputs_) graph_inputs.insert(in.name);
  grads_.clear();
  for (const auto& [name, g] : output_grads) {
    CUSEG_CHECK(values_.count(name) && g.shape() == values_.at(name).shape(), "graph: gradient for '", name,
                "' does not match its tensor");
    grads_[name] = g;
  }
  for (size_t pos = order_.size(); pos-- > 0;) {
    Node& n = nodes_[size_t(order_[pos])];
    auto it = grads_.find(n.output);
    if (it == grads_.end()) continue;  // nothing downstream needs this layer's output
    const Tensor dout = it->second;
    grads_.erase(it);
    std::vector<Tensor> in, din;
    try {
      for (const std::string& t : n.inputs) {
        in.push_back(values_.at(t));
        din.push_back(graph_inputs.count(t) ? Tensor() : Tensor::empty(shapes_.at(t), dtype_, device_));
      }
      n.layer->backward(in, values_.at(n.output), dout, din);
    } catch (const OutOfMemory& e) {
      throw OutOfMemory(str_cat("backward of ", n.layer->kind(), " '", n.layer->name(), "': ", e.what()));
    }
    if (after_layer) after_layer(*n.layer);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!din[i].defined()) continue;
      auto [g, fresh] = grads_.emplace(n.inputs[i], din[i]);
      if (!fresh) cuseg::add(g->second, din[i], g->second);  // fan-out: every reader's gradient adds up
    }
  }
}

void Graph::zero_grad() {
  for (Parameter* p : parameters()) p->grad.fill(0.0);
}

std::vector<Parameter*> Graph::parameters() {
  std::vector<Parameter*> out;
  for (Node& n : nodes_)
    for (Parameter* p : n.layer->parameters()) out.push_back(p);
  return out;
}

std::map<std::string, Tensor> Graph::state() {
  std::map<std::string, Tensor> out;
  for (Layer* l : layers()) {
    for (Parameter* p : l->parameters()) out[p->name] = p->value;
    for (auto& [name, t] : l->buffers()) out[name] = *t;
  }
  return out;
}

void Graph::load_state(const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> mine = this->state();
  for (const auto& [name, t] : state) CUSEG_CHECK(mine.count(name), "graph: state '", name, "' belongs to no layer");
  for (auto& [name, t] : mine) {
    auto it = state.find(name);
    CUSEG_CHECK(it != state.end(), "graph: state '", name, "' is missing");
    CUSEG_CHECK(it->second.shape() == t.shape(), "graph: state '", name, "' is ", it->second.shape().str(),
                ", the layer holds ", t.shape().str());
    t.copy_from(it->second.dtype() == t.dtype() ? it->second : it->second.to(t.dtype()));
  }
}

void Graph::set_training(bool training) {
  training_ = training;
  for (Node& n : nodes_) n.layer->set_training(training);
}

void Graph::set_backend(Backend backend) {
  for (Node& n : nodes_) n.layer->set_backend(backend);
}

void Graph::set_precision(Precision precision) {
  for (Node& n : nodes_) n.layer->set_precision(precision);
}

void Graph::to(Device device) {
  device_ = device;
  for (Layer* l : layers()) l->to(device);
  values_.clear();
  grads_.clear();
}

void Graph::to(DType dtype) {
  dtype_ = dtype;
  for (Layer* l : layers()) l->to(dtype);
  values_.clear();
  grads_.clear();
}

Layer& Graph::layer(const std::string& name) {
  for (Layer* l : layers())
    if (l->name() == name) return *l;
  throw_error("graph: no layer named '" + name + "'");
}

std::vector<Graph::NodeRef> Graph::execution_order() const {
  CUSEG_CHECK(order_.size() == nodes_.size(), "graph: execution_order() needs a compiled graph");
  std::vector<NodeRef> out;
  for (int i : order_) out.push_back({*nodes_[size_t(i)].layer, nodes_[size_t(i)].inputs, nodes_[size_t(i)].output});
  return out;
}

std::vector<std::string> Graph::input_names() const {
  std::vector<std::string> out;
  for (const Input& in : inputs_) out.push_back(in.name);
  return out;
}

std::vector<Layer*> Graph::layers() {
  std::vector<Layer*> out;
  for (Node& n : nodes_) out.push_back(n.layer.get());
  for (auto& l : unused_) out.push_back(l.get());
  return out;
}

std::string Graph::first_nonfinite_output() const {
  for (int i : order_) {
    const Node& n = nodes_[size_t(i)];
    auto it = values_.find(n.output);
    if (it == values_.end() || !it->second.defined()) continue;
    const Tensor host = it->second.to(Device::cpu()).to(DType::F64);
    for (double v : host.to_vector<double>())
      if (!std::isfinite(v)) return n.layer->name();
  }
  return "";
}

std::string Graph::first_nonfinite_gradient() {
  std::vector<std::pair<const Layer*, const Tensor*>> grads;  // backward order
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    Node& n = nodes_[size_t(*it)];
    for (Parameter* p : n.layer->parameters()) grads.emplace_back(n.layer.get(), &p->grad);
  }
  if (grads.empty()) return "";
  const Tensor& first = *grads.front().second;
  Tensor means = Tensor::empty(Shape{int64_t(grads.size())}, first.dtype(), first.device());
  for (size_t i = 0; i < grads.size(); ++i) {
    Tensor out = means.view(Shape{1}, int64_t(i));
    reduce_mean(*grads[i].second, out);
  }
  const std::vector<double> host = means.to(Device::cpu()).to(DType::F64).to_vector<double>();
  for (size_t i = 0; i < host.size(); ++i)
    if (!std::isfinite(host[i])) return grads[i].first->name();
  return "";
}

double Graph::flops(const std::map<std::string, Shape>& input_shapes) {
  compile(input_shapes);
  double total = 0;
  for (int i : order_) {
    Node& n = nodes_[size_t(i)];
    std::vector<Shape> in;
    for (const std::string& t : n.inputs) in.push_back(shapes_.at(t));
    total += n.layer->flops(in);
  }
  return total;
}

std::string Graph::summary(const std::map<std::string, Shape>& input_shapes) {
  compile(input_shapes);
  std::string out = str_cat("layer                     kind              output                 params       GFLOP   act MiB\n");
  int64_t total_params = 0;
  double total_flops = 0, total_bytes = 0;
  char line[256];
  for (int i : order_) {
    Node& n = nodes_[size_t(i)];
    std::vector<Shape> in;
    for (const std::string& t : n.inputs) in.push_back(shapes_.at(t));
    int64_t params = 0;
    for (Parameter* p : n.layer->parameters()) params += p->value.numel();
    const double flops = n.layer->flops(in);
    const double bytes = double(shapes_.at(n.output).numel()) * double(dtype_size(dtype_));
    std::snprintf(line, sizeof line, "%-25s %-17s %-20s %8lld %11.3f %9.2f\n", n.layer->name().c_str(), n.layer->kind().c_str(),
                  shapes_.at(n.output).str().c_str(), static_cast<long long>(params), flops / 1e9, bytes / (1 << 20));
    out += line;
    total_params += params;
    total_flops += flops;
    total_bytes += bytes;
  }
  std::snprintf(line, sizeof line, "total: %lld parameters, %.3f GFLOP per forward, %.2f MiB of activations\n",
                static_cast<long long>(total_params), total_flops / 1e9, total_bytes / (1 << 20));
  return out + line;
}

}  // namespace cuseg
