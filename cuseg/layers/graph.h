// A network as a DAG of layers over named tensors: several inputs and outputs, fan-out (a tensor
// read by several layers gets the sum of their gradients), skip connections. compile() resolves
// names, orders the layers topologically and infers every shape; wiring mistakes — an unknown
// tensor, a tensor produced twice, a cycle, shapes that do not fit (a channel mismatch at a
// concat, an input not divisible as the network requires) — throw cuseg::Error naming the layer.
//
// forward() in training mode keeps every activation for backward; in evaluation mode each one is
// dropped after its last reader, so the device's stream-ordered pool reuses the memory. backward()
// drops each gradient once its layer has used it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cuseg/layers/layer.h"

namespace cuseg {

class Graph {
 public:
  // A graph input: NHWC with `channels` channels, height and width multiples of `multiple`.
  void add_input(const std::string& name, int channels, int multiple = 1);
  // Adds a layer reading `inputs` and writing `output`; returns it.
  Layer& add(std::unique_ptr<Layer> layer, const std::vector<std::string>& inputs, const std::string& output);
  void add_output(const std::string& name);
  // Adds a layer that holds state the network never computes with — weights a PyTorch model keeps
  // in its state dict without using them (an SMP encoder's stages beyond its depth, EfficientNet's
  // classification-head convolution) — so that such a state dict loads and saves as it is: in
  // state() and layers(), converted with the graph, never run, not in parameters() (an optimizer
  // leaves it alone, as PyTorch's does a parameter without a gradient).
  Layer& add_unused(std::unique_ptr<Layer> layer);

  // Resolves and checks the wiring for these input shapes (forward calls it when shapes change).
  void compile(const std::map<std::string, Shape>& input_shapes);

  void forward(const std::map<std::string, Tensor>& inputs);
  const Tensor& get(const std::string& tensor) const;
  // Gradients of the outputs in; parameter gradients accumulated (call zero_grad between steps).
  // `after_layer`, if given, is called after each layer's backward: its parameters' gradients are
  // then final (a data-parallel run starts summing them over the ranks).
  void backward(const std::map<std::string, Tensor>& output_grads,
                const std::function<void(Layer&)>& after_layer = {});
  void zero_grad();

  std::vector<Parameter*> parameters();
  // Parameters and buffers by name, sharing storage with the graph.
  std::map<std::string, Tensor> state();
  // Copies values into the graph's parameters and buffers; names, shapes and dtypes must match.
  void load_state(const std::map<std::string, Tensor>& state);

  void set_training(bool training);
  void set_backend(Backend backend);
  void set_precision(Precision precision);  // of every convolution
  void to(Device device);
  void to(DType dtype);
  Device device() const { return device_; }

  // Multiply-adds × 2 of one forward at these input shapes.
  double flops(const std::map<std::string, Shape>& input_shapes);
  // One line per layer: name, kind, output shape, parameters, GFLOPs, activation memory; totals.
  std::string summary(const std::map<std::string, Shape>& input_shapes);
  Layer& layer(const std::string& name);
  std::vector<Layer*> layers();  // in the order they were added, the unused ones last

  // The wiring, for exporters (after compile()): the graph's inputs and outputs by name, and each
  // layer with the tensors it reads and writes, in execution order.
  struct NodeRef {
    const Layer& layer;
    const std::vector<std::string>& inputs;
    const std::string& output;
  };
  std::vector<NodeRef> execution_order() const;
  std::vector<std::string> input_names() const;
  const std::vector<std::string>& output_names() const { return outputs_; }

  // After a training-mode forward: the first layer, in execution order, whose output holds a NaN
  // or an infinity ("" if none) — where a diverging run went wrong.
  std::string first_nonfinite_output() const;
  // After backward: the first layer, in backward order, whose parameter gradient holds a NaN or
  // an infinity ("" if none). One mean per gradient (in double: finite exactly when every element
  // is) and a single read back, so a training loop can call it every step.
  std::string first_nonfinite_gradient();

 private:
  // Refuses a second layer of its name; gives the layer the graph's mode, device and dtype.
  void adopt(Layer& layer);
  struct Node {
    std::unique_ptr<Layer> layer;
    std::vector<std::string> inputs;
    std::string output;
  };
  struct Input {
    std::string name;
    int channels, multiple;
  };
  std::vector<Input> inputs_;
  std::vector<Node> nodes_;
  std::vector<std::unique_ptr<Layer>> unused_;
  std::vector<std::string> outputs_;
  std::vector<int> order_;                      // topological order of nodes_
  std::map<std::string, Shape> shapes_;         // every tensor's shape, from compile()
  std::map<std::string, int> last_reader_;      // position in order_ of the last node reading a tensor
  std::map<std::string, Shape> compiled_for_;
  std::map<std::string, Tensor> values_, grads_;
  bool training_ = true;
  Device device_ = Device::cpu();
  DType dtype_ = DType::F32;
};

}  // namespace cuseg
