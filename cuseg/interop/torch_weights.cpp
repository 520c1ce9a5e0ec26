#include "cuseg/interop/torch_weights.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "cuseg/core/error.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/interop/layouts.h"
#include "cuseg/layers/layers.h"

namespace cuseg {

namespace {

// The convolution weights of the model (those stored in another layout in PyTorch), by name.
std::set<std::string> convolution_weights(Graph& model) {
  std::set<std::string> out;
  for (Layer* l : model.layers())
    if (dynamic_cast<Conv2d*>(l) || dynamic_cast<ConvTranspose2d*>(l))
      out.insert(l->name() + ".weight");
  return out;
}

std::vector<std::string> batch_norms(Graph& model) {
  std::vector<std::string> out;
  for (Layer* l : model.layers())
    if (dynamic_cast<BatchNorm2d*>(l)) out.push_back(l->name());
  return out;
}

Shape torch_shape(const Tensor& t, bool convolution) {
  return convolution ? Shape{t.dim(0), t.dim(3), t.dim(1), t.dim(2)} : t.shape();
}

}  // namespace

std::map<std::string, Tensor> torch_state_dict(Graph& model, int64_t num_batches_tracked) {
  const std::set<std::string> convs = convolution_weights(model);
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : model.state()) {
    if (t.dtype() != DType::F32 && t.dtype() != DType::F64)
      continue;  // cuseg's own counters, if any
    out[name] = (convs.count(name) ? to_nchw_weights(t) : t.to(Device::cpu())).to(DType::F32);
  }
  for (const std::string& bn : batch_norms(model))
    out[bn + ".num_batches_tracked"] =
        Tensor::full(Shape{}, double(num_batches_tracked), DType::I32);
  return out;
}

std::string torch_model_config(const ModelConfig& c) {
  if (c.is_smp()) {
    nlohmann::json kw = {{"arch", smp_class_name(c.architecture)},
                         {"encoder_name", c.encoder},
                         {"encoder_depth", c.encoder_depth},
                         {"encoder_weights", nullptr},
                         {"in_channels", c.in_channels},
                         {"classes", c.classes}};
    switch (c.architecture) {
      case Architecture::Unet:
        kw["decoder_channels"] = c.decoder_channels_or_default();
        kw["decoder_attention_type"] =
            c.decoder_attention.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.decoder_attention);
        break;
      case Architecture::Fpn:
        kw["decoder_pyramid_channels"] = c.decoder_pyramid_channels;
        kw["decoder_segmentation_channels"] = c.decoder_segmentation_channels;
        kw["decoder_merge_policy"] = c.decoder_merge_policy;
        kw["decoder_dropout"] = c.decoder_dropout_or_default();
        break;
      case Architecture::DeepLabV3Plus:
        kw["encoder_output_stride"] = c.encoder_output_stride;
        kw["decoder_channels"] = c.decoder_channels_or_default().at(0);
        kw["decoder_atrous_rates"] = c.decoder_atrous_rates;
        kw["decoder_aspp_dropout"] = c.decoder_dropout_or_default();
        break;
      case Architecture::UNetS: break;
    }
    return kw.dump();
  }
  return nlohmann::json{
      {"in_channels", c.in_channels},
      {"classes", c.classes},
      {"base", c.base},
      {"depth", c.depth},
      {"batch_norm", c.batch_norm},
      {"upsample", c.upsample == UNetUpsample::Bilinear ? "bilinear" : "transposed"},
      {"dropout", c.bottleneck_dropout}}
      .dump();
}

void save_torch_state_dict(const std::string& path, Graph& model, const ModelInfo& info,
                           int64_t num_batches_tracked) {
  std::map<std::string, std::string> meta = info.to_metadata();
  save_safetensors(path, torch_state_dict(model, num_batches_tracked),
                   {{"format", "pt"},
                    {info.config.is_smp() ? "smp" : "unet", torch_model_config(info.config)},
                    {"classes", meta.at("classes")},
                    {"normalization", meta.at("normalization")}});
}

void load_torch_state_dict(Graph& model, const std::map<std::string, Tensor>& state,
                           const std::string& source) {
  const std::set<std::string> convs = convolution_weights(model);
  std::map<std::string, Tensor> mine;
  for (const auto& [name, t] : model.state())
    if (t.dtype() == DType::F32 || t.dtype() == DType::F64) mine[name] = t;
  std::vector<std::string> missing, extra, misshaped;
  for (const auto& [name, t] : mine) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    CUSEG_CHECK(it->second.dtype() == DType::F32 || it->second.dtype() == DType::F64, source, ": ", name, " is ",
                dtype_name(it->second.dtype()), ", not floating point");
    const Shape want = torch_shape(t, convs.count(name) > 0);
    if (!(it->second.shape() == want))
      misshaped.push_back(
          str_cat(name, " is ", it->second.shape().str(), ", the model's ", want.str()));
  }
  for (const auto& [name, t] : state)
    if (!mine.count(name) && !name.ends_with(".num_batches_tracked")) extra.push_back(name);
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + v[i];
    return v.size() > 8 ? str_cat(s, " and ", v.size() - 8, " more") : s;
  };
  CUSEG_CHECK(missing.empty(), source, ": missing ", missing.size(),
              " tensor(s) of the model: ", list(missing));
  CUSEG_CHECK(extra.empty(), source, ": ", extra.size(),
              " tensor(s) the model does not have: ", list(extra));
  CUSEG_CHECK(misshaped.empty(), source, ": ", misshaped.size(),
              " tensor(s) of another shape: ", list(misshaped),
              " (PyTorch's layouts: convolutions OIHW)");
  for (auto& [name, t] : mine) {
    const Tensor& src = state.at(name);
    t.copy_from((convs.count(name) ? from_nchw_weights(src) : src)
                    .to(t.dtype())
                    .to(t.device()));
  }
}

void load_torch_state_dict(Graph& model, const std::string& path) {
  load_torch_state_dict(model, load_safetensors(path).tensors, path);
}

namespace {

// SMP's patch_first_conv for pretrained weights: w [K, 3, R, S] (OIHW) to C input channels.
Tensor first_conv_for(const Tensor& w, int64_t channels) {
  const Tensor w64 = w.to(Device::cpu()).to(DType::F64);
  const std::vector<double> v = w64.to_vector<double>();
  const int64_t K = w.dim(0), C0 = w.dim(1), RS = w.dim(2) * w.dim(3);
  std::vector<double> out(size_t(K * channels * RS), 0.0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < RS; ++i) {
        double& o = out[size_t((k * channels + c) * RS + i)];
        if (channels == 1)
          for (int64_t c0 = 0; c0 < C0; ++c0) o += v[size_t((k * C0 + c0) * RS + i)];
        else
          o = v[size_t((k * C0 + c % C0) * RS + i)] * double(C0) / double(channels);
      }
  return Tensor::from_vector(out, Shape{K, channels, w.dim(2), w.dim(3)});
}

}  // namespace

void load_encoder_weights(Graph& model, const ModelConfig& config, const std::map<std::string, Tensor>& state,
                          const std::string& source) {
  CUSEG_CHECK(config.is_smp(), source, ": encoder weights are for the model zoo's networks, not ",
              architecture_name(config.architecture));
  // The convolution SMP adapts to other input channels (its first with 3), and the classifier it drops.
  const bool mobilenet = config.encoder == "mobilenet_v2";
  const bool efficientnet = config.encoder.starts_with("efficientnet");  // efficientnet_pytorch's names
  const std::string first_conv = mobilenet      ? "features.0.0.weight"
                                 : efficientnet ? "_conv_stem.weight"
                                                : "conv1.weight";
  const std::string classifier = mobilenet ? "classifier." : efficientnet ? "_fc." : "fc.";
  std::map<std::string, Tensor> encoder;  // under the model's names, in PyTorch's layouts
  for (const auto& [name, t] : state) {
    if (name.starts_with(classifier)) continue;
    Tensor v = t;
    if (name == first_conv && t.rank() == 4 && t.dim(1) == 3 && config.in_channels != 3)
      v = first_conv_for(t, config.in_channels);
    encoder["encoder." + name] = v;
  }
  // The rest of the model keeps its own: the check below then names only the encoder's tensors.
  for (const auto& [name, t] : torch_state_dict(model))
    if (!name.starts_with("encoder.")) encoder[name] = t;
  try {
    load_torch_state_dict(model, encoder, source);
  } catch (const Error& e) {
    throw Error(str_cat(e.what(), " (an ImageNet ", config.encoder, " in ", efficientnet ? "efficientnet_pytorch's" : "torchvision's", " names: ", first_conv,
                        ", ...)"));
  }
}

void load_encoder_weights(Graph& model, const ModelConfig& config, const std::string& path) {
  load_encoder_weights(model, config, load_safetensors(path).tensors, path);
}

}  // namespace cuseg
