// The `cuseg` Python module: training, inference, evaluation and export from Python, numpy in,
// numpy out.
//
//   import cuseg
//   model = cuseg.load("runs/a/best.safetensors")
//   classes = model.predict(image)                       # [H, W] uint8 (or [N, H, W])
//   classes, probs = model.predict(image, probabilities=True)
//   model.export_onnx("model.onnx")
//   cuseg.evaluate(model, "data", split="val")          # seg_eval's --json, as a dict
//   cuseg.train(data="data", out="runs/a", epochs=40, size=256, callback=lambda log: True)
//
// Images: H×W×C or N×H×W×C, uint8 (0–255, as read from a file) or float32/float64 in [0, 1],
// C the model's input channels, C-contiguous; any H and W (padded to the network's multiple and
// cropped back, or tiled with tile=…), exactly as seg_predict does, so the classes agree with
// its masks bit for bit. For one image the arrays returned are views of cuseg's results (no
// copy); a batch's are assembled into one array. Computation runs without the GIL. Every cuseg
// error is a cuseg.Error carrying the same one-line message the tools print.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/tool.h"
#include "apps/train_options.h"
#include "cuseg/config.h"
#include "cuseg/core/error.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/infer/evaluate.h"
#include "cuseg/infer/predict.h"
#include "cuseg/interop/onnx.h"
#include "cuseg/interop/smp_state.h"
#include "cuseg/interop/torch_weights.h"
#include "cuseg/layers/networks.h"
#include "cuseg/model/checkpoint.h"

namespace py = pybind11;

namespace {

using namespace cuseg;

// A numpy array over a cuseg tensor's memory, keeping the tensor (its storage) alive for as long
// as the array lives: no copy.
template <class T>
py::array owning_array(Tensor t, const std::vector<py::ssize_t>& shape) {
  auto* keep = new Tensor(std::move(t));
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array_t<T>(shape, keep->data<T>(), owner);
}

class Model {
 public:
  Model(const std::string& path, const std::string& device)
      : path_(path), device_(Device::resolve(device)), graph_(load_any_model(path, device_, &info_)) {}
  // An SMP state dict torch.load read (load_pth below).
  Model(const std::string& path, const std::map<std::string, Tensor>& state, const std::string& device)
      : path_(path), device_(Device::resolve(device)), graph_(load_smp_state(state, {}, path, device_, &info_)) {}

  // seg_eval's results (its --json) as a dict.
  py::object evaluate(const std::string& data, const std::string& split, int tile, int overlap,
                      bool skip_bad) {
    EvaluationConfig ec;
    ec.data = data;
    ec.split = split;
    ec.predict.tile = tile;
    ec.predict.overlap = overlap;
    ec.skip_bad = skip_bad;
    CUSEG_CHECK(split == "train" || split == "val", "evaluate: split '", split,
                "': expected train or val");
    std::string json;
    {
      py::gil_scoped_release released;
      json = evaluation_json(cuseg::evaluate(*graph_, info_, ec, path_), info_, ec, path_);
    }
    return py::module_::import("json").attr("loads")(json);
  }

  // classes [.., H, W] u8, and the probabilities [.., H, W, K] f32 on request.
  py::object predict(const py::array& images, bool probabilities, int tile, int overlap) {
    const py::buffer_info b = images.request();
    const int C = info_.config.in_channels;
    CUSEG_CHECK(b.ndim == 3 || b.ndim == 4, "predict: images must be H×W×C or N×H×W×C, got ",
                b.ndim, " dimensions");
    const bool batch = b.ndim == 4;
    const int64_t N = batch ? b.shape[0] : 1, H = b.shape[b.ndim - 3], W = b.shape[b.ndim - 2];
    CUSEG_CHECK(b.shape[b.ndim - 1] == C, "predict: images have ", b.shape[b.ndim - 1],
                " channels, the model ", C);
    CUSEG_CHECK(H > 0 && W > 0 && N > 0, "predict: an empty image");
    const bool u8 = py::isinstance<py::array_t<uint8_t>>(images);
    const bool f32 = py::isinstance<py::array_t<float>>(images);
    const bool f64 = py::isinstance<py::array_t<double>>(images);
    CUSEG_CHECK(u8 || f32 || f64, "predict: images must be uint8, float32 or float64, got ",
                std::string(py::str(images.dtype())));
    CUSEG_CHECK(images.flags() & py::array::c_style,
                "predict: images are not C-contiguous (np.ascontiguousarray makes them so)");
    const int64_t n = H * W * C;
    std::vector<Tensor> outs;
    {
      // The f32 [0, 1] images seg_predict reads from files: u8 / 255.
      std::vector<Tensor> inputs;
      for (int64_t i = 0; i < N; ++i) {
        Tensor t = Tensor::empty(Shape{H, W, C});
        float* dst = t.data<float>();
        if (u8) {
          const uint8_t* src = static_cast<const uint8_t*>(b.ptr) + i * n;
          for (int64_t k = 0; k < n; ++k) dst[k] = float(src[k]) / 255.f;
        } else if (f32) {
          std::memcpy(dst, static_cast<const float*>(b.ptr) + i * n, size_t(n) * sizeof(float));
        } else {
          const double* src = static_cast<const double*>(b.ptr) + i * n;
          for (int64_t k = 0; k < n; ++k) dst[k] = float(src[k]);
        }
        inputs.push_back(std::move(t));
      }
      py::gil_scoped_release released;
      PredictConfig pc;
      pc.tile = tile;
      pc.overlap = overlap;
      for (const Tensor& image : inputs)
        outs.push_back(predict_probabilities(*graph_, info_, image, pc));
    }
    const int64_t K = info_.config.label_classes();
    if (!batch) {  // one image: numpy views of cuseg's own results, no copy
      py::array classes = owning_array<uint8_t>(argmax_classes(outs[0]), {H, W});
      if (!probabilities) return classes;
      return py::make_tuple(classes, owning_array<float>(outs[0], {H, W, K}));
    }
    std::vector<py::ssize_t> class_shape = {H, W}, prob_shape = {H, W, K};
    if (batch) class_shape.insert(class_shape.begin(), N), prob_shape.insert(prob_shape.begin(), N);
    py::array_t<uint8_t> classes(class_shape);
    py::array_t<float> probs(probabilities ? prob_shape : std::vector<py::ssize_t>{0});
    for (int64_t i = 0; i < N; ++i) {
      const Tensor c = argmax_classes(outs[size_t(i)]);
      std::memcpy(classes.mutable_data() + i * H * W, c.data<uint8_t>(), size_t(H * W));
      if (probabilities)
        std::memcpy(probs.mutable_data() + i * H * W * K, outs[size_t(i)].data<float>(),
                    size_t(H * W * K) * sizeof(float));
    }
    if (!probabilities) return classes;
    return py::make_tuple(classes, probs);
  }

  void export_onnx(const std::string& path, const std::string& head) {
    auto cpu = load_model_copy();
    cuseg::export_onnx(path, *cpu, info_, parse_onnx_head(head));
  }

  void export_torch(const std::string& path) {
    auto cpu = load_model_copy();
    save_torch_state_dict(path, *cpu, info_);
  }

  std::vector<std::string> classes() const { return info_.class_names; }
  std::vector<std::array<int, 3>> palette() const {
    std::vector<std::array<int, 3>> out;
    for (const auto& rgb : info_.palette) out.push_back({rgb[0], rgb[1], rgb[2]});
    return out;
  }
  // The configuration the PyTorch module takes (python/cuseg_torch_unet.py's UNet for unet-s,
  // smp.create_model's keywords for a model zoo network), with the input's multiple and the
  // normalization.
  py::dict config() const {
    py::dict d = py::module_::import("json").attr("loads")(torch_model_config(info_.config));
    d["multiple"] = info_.config.input_multiple();
    d["normalization"] = py::make_tuple(info_.normalization.mean, info_.normalization.std);
    return d;
  }
  std::string device() const { return device_.str(); }
  void to(const std::string& device) {
    device_ = Device::resolve(device);
    graph_->to(device_);
  }

 private:
  // Exporters read the weights on the CPU; the model may live on a GPU.
  std::unique_ptr<Graph> load_model_copy() {
    auto cpu = build_model(info_.config);
    cpu->load_state(graph_->state());
    return cpu;
  }

  std::string path_;
  Device device_;
  ModelInfo info_;
  std::unique_ptr<Graph> graph_;
};

// A file torch.save wrote (.pth, .pt): its state dict through torch.load(weights_only=True), which
// unpickles tensors and containers only. A checkpoint dict holding it under "state_dict" or
// "model" (Lightning's, many training scripts') is unwrapped; DataParallel's "module." prefix is
// dropped. Floating tensors become float32, integer ones (batch norm's counters) int32.
std::map<std::string, Tensor> load_pth(const std::string& path) {
  py::module_ torch;
  try {
    torch = py::module_::import("torch");
  } catch (const py::error_already_set&) {
    throw Error(path + ": reading a torch.save file needs PyTorch (import torch failed); or save the state dict with safetensors");
  }
  py::object obj = torch.attr("load")(path, py::arg("map_location") = "cpu", py::arg("weights_only") = true);
  for (const char* key : {"state_dict", "model"})
    if (py::isinstance<py::dict>(obj) && obj.contains(key) && py::isinstance<py::dict>(obj[key])) obj = obj[key];
  CUSEG_CHECK(py::isinstance<py::dict>(obj), path, ": holds no state dict");
  std::map<std::string, Tensor> state;
  for (auto item : py::cast<py::dict>(obj)) {
    std::string name = py::cast<std::string>(item.first);
    if (name.starts_with("module.")) name = name.substr(7);
    py::object t = py::reinterpret_borrow<py::object>(item.second);
    CUSEG_CHECK(py::isinstance(t, torch.attr("Tensor")), path, ": '", name, "' is not a tensor");
    t = t.attr("detach")().attr("cpu")().attr("contiguous")();
    const bool floating = py::cast<bool>(t.attr("is_floating_point")());
    py::array a = t.attr(floating ? "float" : "int")().attr("numpy")();
    CUSEG_CHECK(a.ndim() <= 4, path, ": '", name, "' has rank ", a.ndim());
    std::vector<int64_t> dims(a.shape(), a.shape() + a.ndim());
    Tensor out = Tensor::empty(Shape(dims.data(), int(dims.size())), floating ? DType::F32 : DType::I32);
    std::memcpy(out.raw_data(), a.data(), out.nbytes());
    state[name] = out;
  }
  return state;
}

}  // namespace

namespace {

// The training option (train_config.h's table) a keyword argument names: its flag with the
// underscores as dashes (learning_rate → --learning-rate); none: a cuseg.Error.
const TrainOption& option_of_keyword(const std::string& name) {
  std::string flag = "--" + name;
  for (char& ch : flag)
    if (ch == '_') ch = '-';
  for (const TrainOption& o : train_options())
    if (o.flag == flag) return o;
  throw Error("cuseg.train: no option " + name + " (seg_train has no " + flag + "; see seg_train --help)");
}

// seg_train's command line for these keyword arguments: a bare flag for True (nothing for False),
// else the flag and the value: a bool as 1/0, a list's items joined by commas, anything else its
// str(). Parsed by seg_train's own options, so names, defaults, checks and messages are the tool's.
std::vector<std::string> train_arguments(const py::kwargs& kwargs) {
  std::vector<std::string> args;
  for (const auto& [key, value] : kwargs) {
    const std::string name = py::cast<std::string>(key);
    if (name == "callback") continue;
    const TrainOption& option = option_of_keyword(name);
    const bool is_bool = py::isinstance<py::bool_>(value);
    if (!option.switch_value.empty() && is_bool) {
      if (py::cast<bool>(value)) args.push_back(option.flag);
      continue;
    }
    args.push_back(option.flag);
    if (is_bool) {
      args.push_back(py::cast<bool>(value) ? "1" : "0");
    } else if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
      std::string joined;
      for (const auto& item : value)
        joined += (joined.empty() ? "" : ",") + std::string(py::str(item));
      args.push_back(joined);
    } else {
      args.push_back(py::str(value));
    }
  }
  return args;
}

// cuseg.train's docstring: what it does, then every keyword argument with its default, from the
// table.
std::string train_doc() {
  std::string doc =
      "Train as seg_train does, with its options as keyword arguments (resume=True continues a run); "
      "callback(log) receives each epoch's log.jsonl line as a dict and may return False to stop. Returns "
      "status, message, best_miou, best_epoch, epochs, out, best.\n\nKeyword arguments (seg_train's flags):\n";
  const TrainConfig defaults;
  for (const TrainOption& o : train_options()) {
    if (o.flag.empty()) continue;
    std::string name = o.flag.substr(2);
    for (char& ch : name)
      if (ch == '-') ch = '_';
    doc += "  " + name;
    if (!o.switch_value.empty()) doc += "=True";
    else if (o.placeholder.empty()) doc += "=" + option_text(defaults, o);
    doc += ": " + o.help + "\n";
  }
  return doc;
}

py::dict train(const py::kwargs& kwargs) {
  CLI::App app{"cuseg.train", "cuseg.train"};
  TrainConfig given;
  tool::add_train_options(app, given);
  std::vector<std::string> args = train_arguments(kwargs);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector last argument first
  TrainConfig config;
  try {
    app.parse(args);
    config = tool::resolve_train_config(app, given);
  } catch (const CLI::ParseError& e) {
    throw Error(e.what());
  } catch (const tool::UsageError& e) {
    throw Error(e.what());
  }
  if (!kwargs.contains("no_progress")) config.progress = false;  // no bar inside Python
  Trainer trainer(config);
  if (kwargs.contains("callback") && !kwargs["callback"].is_none()) {
    py::object callback = kwargs["callback"];
    py::object loads = py::module_::import("json").attr("loads");
    trainer.on_epoch([callback, loads](const std::string& line) {
      py::gil_scoped_acquire held;
      py::object keep = callback(loads(line));
      return keep.is_none() || py::cast<bool>(keep);  // None (no return value): go on
    });
  }
  TrainResult r;
  {
    py::gil_scoped_release released;
    r = trainer.run();
  }
  if (r.status == TrainStatus::NonFinite) throw Error(r.message);
  py::dict out;
  out["status"] = to_string(r.status);
  out["message"] = r.message;
  out["best_miou"] = r.best_miou;
  out["best_epoch"] = r.best_epoch + 1;
  out["epochs"] = r.epochs.size();
  out["out"] = config.out;
  out["best"] = config.out + "/best.safetensors";
  return out;
}

}  // namespace

PYBIND11_MODULE(cuseg, m) {
  m.doc() = "cuseg: semantic segmentation U-Nets, trained and run by cuseg's engine";
  m.attr("__version__") = CUSEG_VERSION;
  static py::exception<cuseg::Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const cuseg::Error& e) {
      error(e.what());
    }
  });
  py::class_<Model>(m, "Model", "A trained model (cuseg.load)")
      .def("predict", &Model::predict, py::arg("images"), py::arg("probabilities") = false,
           py::arg("tile") = 0, py::arg("overlap") = 64,
           "Class maps of H×W×C or N×H×W×C images (uint8, or float in [0, 1]); with "
           "probabilities=True "
           "also the class probabilities [.., H, W, K]")
      .def("export_onnx", &Model::export_onnx, py::arg("path"), py::arg("head") = "logits",
           "Write the model as ONNX (opset 17): head logits, softmax or argmax")
      .def("export_torch", &Model::export_torch, py::arg("path"),
           "Write the weights as a PyTorch state dict of python/cuseg_torch_unet.py's UNet")
      .def("to", &Model::to, py::arg("device"), "Move the model to 'cpu', 'cuda' or 'cuda:N'")
      .def_property_readonly("classes", &Model::classes)
      .def_property_readonly("palette", &Model::palette)
      .def_property_readonly("config", &Model::config)
      .def_property_readonly("device", &Model::device);
  static const std::string train_docstring = train_doc();
  m.def("train", &train, train_docstring.c_str());
  m.def(
      "evaluate",
      [](Model& model, const std::string& data, const std::string& split, int tile, int overlap,
         bool skip_bad) { return model.evaluate(data, split, tile, overlap, skip_bad); },
      py::arg("model"), py::arg("data") = "", py::arg("split") = "val", py::arg("tile") = 0,
      py::arg("overlap") = 64, py::arg("skip_bad") = false,
      "Score the model on a dataset folder's split (none: the built-in set it was trained on): "
      "seg_eval's "
      "results as a dict (per-class IoU, Dice, precision, recall, support; their means; pixel "
      "accuracy; the "
      "confusion matrix)");
  m.def(
      "load",
      [](const std::string& path, const std::string& device) {
        if (path.ends_with(".pth") || path.ends_with(".pt"))
          return std::make_unique<Model>(path, load_pth(path), device);
        return std::make_unique<Model>(path, device);
      },
      py::arg("path"), py::arg("device") = "cpu",
      "Load a checkpoint written by seg_train, or a segmentation_models_pytorch model's state dict "
      "(safetensors, or .pth/.pt through torch.load(weights_only=True) where PyTorch is installed): "
      "its network is read from its keys and shapes, or from seg_export --torch's metadata");
  m.def(
      "convert_pth",
      [](const std::string& source, const std::string& target) {
        save_safetensors(target, load_pth(source));
      },
      py::arg("source"), py::arg("target"),
      "Write a torch.save file's state dict (.pth) as safetensors, which seg_train --init-from, "
      "seg_predict and the other tools read; needs PyTorch");
}
