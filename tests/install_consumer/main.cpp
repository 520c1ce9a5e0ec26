// An outside program using the installed cuseg: only public headers, no CUDA toolkit needed.
#include <cstdio>

#include "cuseg/config.h"
#include "cuseg/core/tensor.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/softmax.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/layers/unet.h"
#include "cuseg/losses/loss.h"
#include "cuseg/optim/optimizer.h"
#include "cuseg/model/checkpoint.h"
#include "cuseg/train/trainer.h"

int main() {
  using namespace cuseg;
  Tensor x = Tensor::full(Shape{1, 4, 4, 2}, 1.0);
  Tensor w = Tensor::full(Shape{3, 3, 3, 2}, 0.5);
  Tensor y = Tensor::empty(conv2d_output_shape(x.shape(), w.shape(), {1, 1, 1, 1, 1, 1}));
  conv2d_forward(x, w, y, {1, 1, 1, 1, 1, 1});
  Tensor p = Tensor::empty(y.shape());
  softmax_forward(y, p);
  // Centre pixel: 9 taps × 2 channels × 0.5 = 9; three equal channels → softmax 1/3.
  const float centre = y.to_vector<float>()[(1 * 4 + 1) * 3];
  const float prob = p.to_vector<float>()[0];
  if (centre != 9.0f || prob < 0.3333f || prob > 0.3334f) {
    std::printf("consumer wrong: %g %g\n", centre, prob);
    return 1;
  }
  // One SGD step with L2: w = 1 − 0.1·(0.5 + 0.1·1).
  Tensor weight = Tensor::full(Shape{1, 1}, 1.0), grad = Tensor::full(Shape{1, 1}, 0.5);
  OptimizerConfig cfg = OptimizerConfig::named("sgd");
  cfg.penalty = Penalty::ridge(0.1);
  Optimizer opt(cfg, {{"w", weight, grad}});
  opt.step(0.1);
  const float w1 = weight.to_vector<float>()[0];
  if (w1 < 0.93999f || w1 > 0.94001f) {
    std::printf("consumer wrong optimizer step: %g\n", w1);
    return 1;
  }
  // The README's U-Net training step, tiny: the loss must fall over a few steps on one batch.
  const Device dev = Device::cpu();
  const ModelConfig config = ModelConfig::unet_s(3, 4, 4);
  auto net = build_unet(config);
  std::vector<ParamRef> params;
  for (Parameter* p : net->parameters()) params.push_back({p->name, p->value, p->grad, p->no_decay});
  Optimizer adamw(OptimizerConfig::named("adamw"), params);
  auto loss_fn = make_loss("ce+dice");
  Tensor images = Tensor::empty(Shape{2, 16, 16, 3});
  images.fill_uniform(1, -1, 1);
  std::vector<uint8_t> lv(2 * 16 * 16);
  for (size_t i = 0; i < lv.size(); ++i) lv[i] = uint8_t((i / 16) % 4);
  Tensor labels = Tensor::from_vector(lv, Shape{2, 16, 16});
  float first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    net->zero_grad();
    net->forward({{"image", images}});
    Tensor loss = Tensor::empty(Shape{1}, DType::F32, dev);
    Tensor dlogits = Tensor::empty(net->get("logits").shape(), DType::F32, dev);
    loss_fn->compute(net->get("logits"), labels, loss, dlogits);
    net->backward({{"logits", dlogits}});
    adamw.step(1e-2);
    last = loss.to_vector<float>()[0];
    if (step == 0) first = last;
  }
  if (!(last < first)) {
    std::printf("consumer: loss did not fall (%g -> %g)\n", first, last);
    return 1;
  }
  save_checkpoint("consumer_unet.safetensors", *net, config, &adamw);
  auto again = build_unet(config);
  load_checkpoint("consumer_unet.safetensors", *again, config, nullptr);
  // The trainer behind seg_train, one tiny epoch on the built-in dataset.
  TrainConfig tc;
  tc.synthetic_train = 8;
  tc.synthetic_val = 4;
  tc.height = tc.width = 16;
  tc.base = 4;
  tc.depth = 3;
  tc.batch = 4;
  tc.epochs = 1;
  tc.device = "cpu";
  tc.out = "consumer_run";
  tc.quiet = true;
  const TrainResult run = Trainer(tc).run();
  if (run.status != TrainStatus::Finished || run.epochs.size() != 1) {
    std::printf("consumer: training run %s: %s\n", to_string(run.status), run.message.c_str());
    return 1;
  }
  std::printf("consumer ok (cuseg %s, CUDA %d, %s)\n", CUSEG_VERSION, CUSEG_HAS_CUDA,
              cuda_status().c_str());
  return 0;
}
