// Not built yet: refused by name.
#include "cuseg/core/error.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

void build_fpn_decoder(Builder&, const ModelConfig& config, const Features&) {
  throw_error(str_cat("fpn", ": not built yet (", config.title(), ")"));
}

}  // namespace cuseg::zoo
