// Not built yet: refused by name.
#include "cuseg/core/error.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

void build_deeplabv3plus_decoder(Builder&, const ModelConfig& config, const Features&) {
  throw_error(str_cat("deeplabv3plus", ": not built yet (", config.title(), ")"));
}

}  // namespace cuseg::zoo
