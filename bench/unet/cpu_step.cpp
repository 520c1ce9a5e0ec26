// One network configuration on the CPU, timed as a training loop or an inference service runs it,
// in its own process so that its peak resident memory is its own: bench/cpu_vs_torch.py runs it
// beside bench/torch_cpu_step.py, which does the same in PyTorch. The network is unet-s (--base
// sets its width) or a model zoo network (layers/networks.h: --model unet --encoder resnet34).
//
//   unet_cpu_bench --mode train --base 16 --batch 16 --size 64 --channels 3 --classes 11
//                  --backend fast --precision bf16 --threads 2 --steps 10
//   unet_cpu_bench --model unet --encoder resnet34 --mode train --batch 8 --size 256 --classes 11
//
// train: zero_grad, forward, cross-entropy and its gradient, backward, one Adam step.
// infer: an evaluation-mode forward, with no optimizer state. Prints one JSON line: the median step's seconds, images/s,
// the process's peak resident set in MiB and every timed step's seconds in order ("steps_s").
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cuseg/config.h"
#include "cuseg/core/error.h"
#include "cuseg/core/tensor.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/layers/model_config.h"
#include "cuseg/layers/networks.h"
#include "cuseg/losses/loss.h"
#include "cuseg/optim/optimizer.h"

namespace {

struct Options {
  std::string model = "unet-s", encoder = "resnet34", mode = "train", backend = "fast", precision = "f32";
  int base = 16, batch = 16, size = 64, channels = 3, classes = 11, threads = 0, steps = 10,
      warmup = 2;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    CUSEG_CHECK(i + 1 < argc, flag, " needs a value");
    const std::string v = argv[++i];
    if (flag == "--model") o.model = v;
    else if (flag == "--encoder") o.encoder = v;
    else if (flag == "--mode") o.mode = v;
    else if (flag == "--backend") o.backend = v;
    else if (flag == "--precision") o.precision = v;
    else if (flag == "--base") o.base = std::stoi(v);
    else if (flag == "--batch") o.batch = std::stoi(v);
    else if (flag == "--size") o.size = std::stoi(v);
    else if (flag == "--channels") o.channels = std::stoi(v);
    else if (flag == "--classes") o.classes = std::stoi(v);
    else if (flag == "--threads") o.threads = std::stoi(v);
    else if (flag == "--steps") o.steps = std::stoi(v);
    else if (flag == "--warmup") o.warmup = std::stoi(v);
    else cuseg::throw_error("unknown flag " + flag);
  }
  CUSEG_CHECK(o.mode == "train" || o.mode == "infer", "--mode is train or infer");
  CUSEG_CHECK(o.backend == "fast" || o.backend == "reference", "--backend is fast or reference");
  CUSEG_CHECK(o.steps >= 1 && o.warmup >= 0, "--steps is at least 1 and --warmup at least 0");
  return o;
}

cuseg::ModelConfig model_config(const Options& o) {
  const cuseg::Architecture architecture = cuseg::parse_architecture(o.model);
  if (architecture == cuseg::Architecture::UNetS) return cuseg::ModelConfig::unet_s(o.channels, o.classes, o.base);
  return cuseg::ModelConfig::smp(architecture, o.encoder, o.channels, o.classes);
}

// The network's name in the JSON line: "unet-s" (its base is a field of its own), "unet-resnet34".
std::string model_name(const cuseg::ModelConfig& c) {
  return c.is_smp() ? std::string(cuseg::architecture_name(c.architecture)) + "-" + c.encoder : "unet-s";
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

// Runs step o.warmup times, then o.steps times timed, and prints the JSON line.
template <class Step>
void time_steps(const Options& o, Step step) {
  for (int i = 0; i < o.warmup; ++i) step();
  std::vector<double> seconds;
  for (int i = 0; i < o.steps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Every step in the order it ran, so that a slow first step or drift shows beside the median.
  std::string steps_s;
  for (const double s : seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.6f", steps_s.empty() ? "" : ", ", s);
    steps_s += buf;
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const cuseg::ModelConfig config = model_config(o);
  std::printf(
      "{\"impl\": \"cuseg-%s-%s\", \"model\": \"%s\", \"mode\": \"%s\", \"base\": %d, \"batch\": %d, "
      "\"size\": %d, \"threads\": %d, \"seconds\": %.6f, \"images_per_s\": %.2f, \"peak_rss_mib\": %.1f, "
      "\"steps_s\": [%s]}\n",
      o.backend.c_str(), o.precision.c_str(), model_name(config).c_str(), o.mode.c_str(), config.is_smp() ? 0 : o.base,
      o.batch, o.size, omp_get_max_threads(), median, o.batch / median, peak_rss_mib(), steps_s.c_str());
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace cuseg;
  const Options o = parse(argc, argv);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const Backend backend = o.backend == "fast" ? Backend::Fast : Backend::Reference;

  const ModelConfig config = model_config(o);
  auto net = build_model(config);
  net->set_backend(backend);
  net->set_precision(parse_precision(o.precision));
  net->set_training(o.mode == "train");
  const Shape shape{o.batch, o.size, o.size, o.channels};
  Tensor image = Tensor::empty(shape, DType::F32, Device::cpu());
  image.fill_uniform(-1, 1, 1);
  if (o.mode == "infer") {
    // Nothing of training (labels, the loss's gradient, Adam's moments): an inference service's
    // peak memory, as PyTorch's, whose Adam makes its state on its first step.
    time_steps(o, [&] { net->forward({{"image", image}}); });
    return 0;
  }
  std::vector<int32_t> labels(size_t(o.batch) * o.size * o.size);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i * 7 % size_t(o.classes));
  const Tensor label_tensor = Tensor::from_vector(labels, Shape{o.batch, o.size, o.size}, Device::cpu());
  LossOptions loss_options;
  loss_options.backend = backend;
  auto loss_fn = make_loss("ce", loss_options);
  Tensor loss = Tensor::empty(Shape{1}, DType::F32, Device::cpu());
  Tensor dlogits = Tensor::empty(Shape{o.batch, o.size, o.size, o.classes}, DType::F32, Device::cpu());
  std::vector<ParamRef> params;
  for (Parameter* p : net->parameters()) params.push_back({p->name, p->value, p->grad, p->no_decay});
  Optimizer adam(OptimizerConfig::named("adam"), params);
  adam.set_backend(backend);
  time_steps(o, [&] {
    net->zero_grad();
    net->forward({{"image", image}});
    loss_fn->compute(net->get("logits"), label_tensor, loss, dlogits, 1.0);
    net->backward({{"logits", dlogits}});
    adam.step(1e-3);
  });
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "unet_cpu_bench: %s\n", e.what());
  return 1;
}
