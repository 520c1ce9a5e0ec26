// End to end on the CPU: unet-s learns the synthetic dataset — data, graph, loss, optimizer and
// metrics together. Small and short (a few seconds); what it asserts does not depend on luck:
// the loss falls well below its start and the validation pixel accuracy beats predicting the
// background everywhere.
#include <gtest/gtest.h>

#include "cuseg/data/synthetic.h"
#include "cuseg/layers/unet.h"
#include "cuseg/losses/loss.h"
#include "cuseg/optim/optimizer.h"
#include "cuseg/model/metrics.h"

namespace cuseg {
namespace {

TEST(EndToEnd, UNetLearnsTheSyntheticDataset) {
  ModelConfig uc = ModelConfig::unet_s(3, 4, 8);
  uc.seed = 3;
  auto net = build_unet(uc);
  std::vector<ParamRef> params;
  for (Parameter* p : net->parameters()) params.push_back({p->name, p->value, p->grad, p->no_decay});
  Optimizer opt(OptimizerConfig::named("adam"), params);
  auto loss_fn = make_loss("ce+dice");
  SyntheticConfig data;
  data.height = data.width = 32;
  data.seed = 1;
  const int steps = 40, batch = 8;
  const LrSchedule lr = LrSchedule::polynomial(3e-3, steps);
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    Tensor images, labels;
    synthetic_batch(data, int64_t(step) * batch, batch, images, labels);
    net->zero_grad();
    net->forward({{"image", images}});
    Tensor loss = Tensor::empty(Shape{1}), dlogits = Tensor::empty(net->get("logits").shape());
    loss_fn->compute(net->get("logits"), labels, loss, dlogits);
    net->backward({{"logits", dlogits}});
    opt.step(lr);
    const double value = loss.to_vector<float>()[0];
    if (step < 3) first += value / 3;
    if (step >= steps - 3) last += value / 3;
  }
  EXPECT_LT(last, 0.8 * first) << "loss " << first << " → " << last;

  SyntheticConfig val = data;
  val.seed = 999;
  Tensor images, labels;
  synthetic_batch(val, 0, 16, images, labels);
  net->set_training(false);
  net->forward({{"image", images}});
  ConfusionMatrix cm(4);
  cm.update(net->get("logits"), labels);
  const Metrics m = cm.metrics();
  const double background = m.per_class[0].support / m.pixels;
  EXPECT_GT(m.pixel_accuracy, background) << "accuracy " << m.pixel_accuracy << ", background share " << background;
  EXPECT_GT(m.mean_iou, 0.4) << "validation mIoU " << m.mean_iou;
  RecordProperty("val_miou", std::to_string(m.mean_iou));
  RecordProperty("loss_drop", std::to_string(last / first));
}

}  // namespace
}  // namespace cuseg
