// Setup: the data, the model, the optimizer, the loss and the training loader a run trains with,
// and what a resumed run takes from its checkpoint.

#include "cuseg/core/number_list.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/data/folder_dataset.h"
#include "cuseg/data/statistics.h"
#include "cuseg/data/synthetic.h"
#include "cuseg/interop/torch_weights.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/networks.h"
#include "cuseg/train/trainer_state.h"

namespace cuseg {

using json = nlohmann::json;

std::unique_ptr<SegmentationDataset> synthetic_split(const TrainConfig& c, const std::string& split) {
  return synthetic_split({.height = c.height, .width = c.width, .channels = c.channels,
                          .label_noise = c.synthetic_label_noise, .seed = c.seed},
                         c.synthetic_train, c.synthetic_val, split);
}

void Trainer::State::open_data() {
  const TrainConfig& c = config;
  if (c.data.empty()) {
    train_base = synthetic_split(c, "train");
    val_base = synthetic_split(c, "val");
  } else {
    FolderDatasetConfig fc;
    fc.root = c.data;
    fc.channels = c.channels;
    fc.ignore_index = c.ignore_index;
    fc.skip_bad = c.skip_bad;
    fc.split = "train";
    auto t = std::make_unique<FolderDataset>(fc);
    fc.classes = t->classes();
    if (c.folds < 2) {
      fc.split = "val";
      val_base = std::make_unique<FolderDataset>(fc);
    }
    train_base = std::move(t);
  }
  train = train_base.get();
  val = val_base.get();
  if (c.folds >= 2) {
    train_fold = std::make_unique<SubsetDataset>(*train_base, fold_indices(train_base->size(), c.folds, c.fold, false));
    val_fold = std::make_unique<SubsetDataset>(*train_base, fold_indices(train_base->size(), c.folds, c.fold, true));
    train = train_fold.get();
    val = val_fold.get();
  }
}

void Trainer::State::build(const std::string& resume_from) {
  const bool resuming = !resume_from.empty();
  describe_model();
  json stored_state;
  if (resuming) stored_state = read_resumed_inputs(resume_from);
  else measure_inputs();
  build_model(!resuming);
  build_optimizer();
  build_loss();
  build_train_loader();
  if (resuming) {
    load_checkpoint(resume_from, *model, info.config, optimizer.get());
    restore_train_state(stored_state);
  }
  model->set_backend(parse_backend(config.backend));
  model->set_precision(parse_precision(config.precision));
  make_gradient_sum();
  if (config.cuda_graph) start_graph_steps();
}

void Trainer::State::describe_model() {
  const TrainConfig& c = config;
  info.config.architecture = parse_architecture(c.model);
  info.config.in_channels = train->channels();
  CUSEG_CHECK(!c.binary || train->classes() == 2, "--binary: the data has ", train->classes(),
              " classes; a binary head is for two (background and foreground)");
  info.config.classes = c.binary ? 1 : train->classes();
  info.config.encoder = c.encoder;
  info.config.encoder_depth = c.encoder_depth;
  info.config.encoder_output_stride = c.encoder_output_stride;
  // Their ranges (a rate in [1, 256], a width in [1, 4096]) are ModelConfig::validate's, below.
  info.config.decoder_atrous_rates = parse_whole_list(c.decoder_atrous_rates, "--decoder-atrous-rates");
  info.config.decoder_channels.clear();
  if (!c.decoder_channels.empty()) info.config.decoder_channels = parse_whole_list(c.decoder_channels, "--decoder-channels");
  info.config.decoder_pyramid_channels = c.decoder_pyramid_channels;
  info.config.decoder_segmentation_channels = c.decoder_segmentation_channels;
  info.config.decoder_merge_policy = c.decoder_merge_policy;
  info.config.decoder_dropout.reset();  // the architecture's
  if (c.decoder_dropout >= 0) info.config.decoder_dropout = c.decoder_dropout;
  info.config.decoder_attention = c.decoder_attention == "none" ? "" : c.decoder_attention;
  info.config.drop_path_rate = c.drop_path_rate;
  info.config.base = c.base;
  info.config.depth = c.depth;
  info.config.batch_norm = c.batch_norm;
  info.config.upsample = c.upsample == "bilinear" ? UNetUpsample::Bilinear : UNetUpsample::TransposedConv;
  info.config.bottleneck_dropout = c.dropout;
  info.config.seed = c.seed;
  info.config.validate();
  // DeepLabV3+'s ASPP pools each image to one value per channel: a batch of one leaves the batch
  // norm after it one value per channel, which training cannot normalize (PyTorch refuses it too).
  CUSEG_CHECK(info.config.architecture != Architecture::DeepLabV3Plus || c.batch >= 2, "--batch ", c.batch, ": ",
              info.config.title(), " trains on batches of 2 or more (its ASPP's image pooling leaves one value "
              "per channel per image to its batch norm)");
  const int multiple = info.config.input_multiple();
  CUSEG_CHECK(c.height % multiple == 0 && c.width % multiple == 0, "--size ", c.height, "x", c.width, ": ",
              info.config.title(), " needs multiples of ", multiple);
  info.class_names = train->class_names();
  info.palette = train->palette();
  info.height = c.height;
  info.width = c.width;
  info.ignore_index = c.ignore_index;
}

// The header alone: load_checkpoint reads the tensors, once, into the model built here.
json Trainer::State::read_resumed_inputs(const std::string& checkpoint) {
  const ModelInfo stored = ModelInfo::from_metadata(checkpoint, load_safetensors_metadata(checkpoint));
  info.normalization = stored.normalization;
  class_weights = json::parse(stored.metadata.at("class_weights")).get<std::vector<double>>();
  return json::parse(stored.metadata.at("train_state"));
}

void Trainer::State::measure_inputs() {
  const TrainConfig& c = config;
  const DatasetStatistics stats = compute_statistics(*train, c.ignore_index, c.workers);
  info.normalization = stats.normalization;
  if (c.class_weights == "auto") {
    class_weights = median_frequency_weights(stats);
  } else if (c.class_weights != "none") {
    class_weights = parse_non_negative_list(c.class_weights, "class weights");
    CUSEG_CHECK(int(class_weights.size()) == info.config.label_classes(), "class weights: ", class_weights.size(),
                " given for ", info.config.label_classes(), " classes");
  }
}

void Trainer::State::build_model(bool from_init_weights) {
  model = cuseg::build_model(info.config);
  for (Layer* l : model->layers()) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(l); bn && ranks->size() > 1 && config.sync_bn != 0) bn->synchronize(ranks);
    if (auto* d = dynamic_cast<Dropout*>(l)) d->set_part(ranks->rank(), ranks->size());
  }
  // Weights trained elsewhere; a resumed run has its own, from the checkpoint.
  if (!config.encoder_weights.empty() && from_init_weights)
    load_encoder_weights(*model, info.config, config.encoder_weights);
  if (!config.init_from.empty() && from_init_weights) load_torch_state_dict(*model, config.init_from);
  model->to(device);
}

void Trainer::State::build_optimizer() {
  const TrainConfig& c = config;
  std::vector<ParamRef> params;
  for (Parameter* p : model->parameters()) params.push_back({p->name, p->value, p->grad, p->no_decay});
  OptimizerConfig oc = OptimizerConfig::named(c.optimizer);
  oc.penalty = Penalty::parse(c.penalty, c.l1, c.l2, c.beta);
  if (c.weight_decay >= 0) oc.weight_decay = c.weight_decay;
  oc.max_grad_norm = c.max_grad_norm;
  optimizer = std::make_unique<Optimizer>(oc, params);
  optimizer->set_backend(parse_backend(c.backend));
}

void Trainer::State::build_loss() {
  const TrainConfig& c = config;
  LossOptions lo;
  lo.backend = parse_backend(c.backend);
  lo.ignore_index = c.ignore_index;
  lo.label_smoothing = c.label_smoothing;
  lo.focal_gamma = c.focal_gamma;
  if (!class_weights.empty()) {
    std::vector<float> w(class_weights.begin(), class_weights.end());
    lo.class_weights = Tensor::from_vector(w, Shape{int64_t(w.size())}).to(device);
  }
  lo.targets = c.binary ? LossOptions::Targets::BinaryHeadMasks : LossOptions::Targets::Masks;
  loss = make_loss(c.loss, lo);
  if (ranks->size() > 1) loss->synchronize(ranks);  // a step's loss is the global batch's
  loss_value = Tensor::empty(Shape{1}, DType::F32, device);
}

LoaderConfig Trainer::State::loader_config(bool sharded) const {
  LoaderConfig lc;
  lc.batch = config.batch;
  lc.height = config.height;
  lc.width = config.width;
  lc.normalization = info.normalization;
  lc.workers = config.workers;
  lc.seed = config.seed;
  lc.device = device;
  if (sharded) {
    lc.shard = ranks->rank();
    lc.shards = ranks->size();
  }
  return lc;
}

void Trainer::State::build_train_loader() {
  const TrainConfig& c = config;
  LoaderConfig lc = loader_config(true);
  lc.shuffle = true;
  lc.drop_last = train->size() >= size_t(c.batch);  // batch norm needs more than one sample
  lc.augment = c.augment;
  lc.augmentation = c.augmentation;
  lc.augmentation.ignore_index = c.ignore_index;
  train_loader = std::make_unique<BatchLoader>(*train, lc);
  // The schedule runs over the optimizer steps of every epoch.
  steps_per_epoch = (train_loader->batches() + c.accumulate - 1) / c.accumulate;
  schedule = LrSchedule::parse(c.schedule, c.lr, int64_t(c.epochs) * steps_per_epoch);
  schedule.warmup = c.warmup;
  schedule.validate();
}

// The gradients in the order the backward finishes them (the last layer's first), so that the sum
// over the ranks can start on each bucket as soon as the backward has completed it.
void Trainer::State::make_gradient_sum() {
  model->compile({{"image", Shape{1, config.height, config.width, info.config.in_channels}}});
  std::map<const Layer*, Layer*> layers;
  for (Layer* l : model->layers()) layers[l] = l;
  const std::vector<Graph::NodeRef> order = model->execution_order();
  std::vector<Tensor*> gradients;
  for (auto node = order.rbegin(); node != order.rend(); ++node)
    for (Parameter* p : layers.at(&node->layer)->parameters()) {
      gradients_of[&node->layer].push_back(gradients.size());
      gradients.push_back(&p->grad);
    }
  gradient_sum = ranks->gradient_sum(std::move(gradients));
}

}  // namespace cuseg
