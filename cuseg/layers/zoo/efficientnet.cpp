// Not built yet: refused by name.
#include "cuseg/core/error.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

Features build_efficientnet(Builder&, const ModelConfig& config, const std::string&) {
  throw_error(str_cat(config.encoder, ": not built yet (", config.title(), ")"));
}

}  // namespace cuseg::zoo
