#include "apps/train_options.h"

#include <type_traits>

#include "apps/tool.h"

namespace cuseg::tool {

namespace {

// A flag whose value is one field of the config: CLI11 converts to the field's type.
CLI::Option* add_field(CLI::App& app, TrainConfig& config, const TrainOption& row) {
  return std::visit(
      [&](auto member) -> CLI::Option* {
        if constexpr (std::is_same_v<decltype(member), std::monostate> ||
                      std::is_same_v<decltype(member), AugmentConfig TrainConfig::*>)
          throw Error(str_cat(row.flag, ": no field a flag can set"));
        else
          return app.add_option(row.flag, config.*member, row.help);
      },
      row.field);
}

CLI::Option* add_row(CLI::App& app, TrainConfig& config, const TrainOption& row) {
  if (!row.switch_value.empty())  // a bare flag
    return app.add_flag_function(
        row.flag, [&config, &row](int64_t) { set_option_text(config, row, row.switch_value); }, row.help);
  if (row.set_text)  // a value that is no single field (--size)
    return app.add_option_function<std::string>(
                  row.flag,
                  [&config, &row](const std::string& text) {
                    try {
                      set_option_text(config, row, text);
                    } catch (const Error& e) {
                      throw CLI::ValidationError(e.what());
                    }
                  },
                  row.help)
        ->default_str(option_text(config, row));
  CLI::Option* option = add_field(app, config, row);
  if (row.placeholder.empty()) option->capture_default_str();
  return option;
}

}  // namespace

void add_train_options(CLI::App& app, TrainConfig& config, TrainFlags flags) {
  // As in most tools, a flag given twice takes its last value (scripts append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  for (const TrainOption& row : train_options()) {
    if (row.flag.empty() || (flags == TrainFlags::Sweep && !row.sweep)) continue;
    CLI::Option* option = add_row(app, config, row);
    if (!row.allowed.empty()) option->check(CLI::IsMember(row.allowed));
    switch (row.check) {
      case OptionCheck::None: break;
      case OptionCheck::Positive: option->check(CLI::PositiveNumber); break;
      case OptionCheck::ThreadCount: option->check(thread_count_check); break;
      case OptionCheck::ExistingFile: option->check(CLI::ExistingFile); break;
    }
  }
}

void finish_train_options(TrainConfig& config) {
  try {
    config.validate();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

TrainConfig resolve_train_config(const CLI::App& app, TrainConfig given) {
  finish_train_options(given);
  if (!given.resume) return given;
  const TrainConfig stored = Trainer::stored_config(given.out);
  try {
    return resumed_config(stored, given, [&app](const std::string& flag) {
      const CLI::Option* option = app.get_option_no_throw(flag);
      return option != nullptr && option->count() > 0;
    });
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

}  // namespace cuseg::tool
