// The table of training options (train/train_config.h) against the configuration it describes:
// every field of TrainConfig has its row, config.json round-trips every stored field, validate()
// takes exactly the values the table allows, and --resume changes what may change and refuses a
// different value for anything else. (The CLI11 options, the README and --help: tests/apps.)
#include "cuseg/train/train_config.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "cuseg/core/error.h"

namespace cuseg {
namespace {

// The number of members of an aggregate: the most initializers T{...} takes. AnyField converts to
// any member's type (declared only: it is used in unevaluated requires-expressions).
struct AnyField {
  template <class T>
  operator T() const;
};

template <class T, class... Fields>
constexpr size_t aggregate_fields() {
  if constexpr (requires { T{Fields{}..., AnyField{}}; }) return aggregate_fields<T, Fields..., AnyField>();
  else return sizeof...(Fields);
}

// A field added to TrainConfig without its row would be neither stored nor restored on --resume.
TEST(TrainOptions, EveryConfigurationFieldIsInTheTable) {
  static_assert(std::is_aggregate_v<TrainConfig>);
  std::set<std::string> keys;
  for (const TrainOption& o : train_options()) {
    if (o.key.empty()) {
      EXPECT_FALSE(o.flag.empty()) << "a row with neither flag nor field";
      EXPECT_TRUE(o.field.index() == 0) << o.flag;
      continue;
    }
    EXPECT_TRUE(keys.insert(o.key).second) << o.key << " has two rows";
    EXPECT_NE(o.field.index(), 0u) << o.key << " names no member";
  }
  EXPECT_EQ(keys.size(), aggregate_fields<TrainConfig>()) << "TrainConfig has a member the table lacks";
  for (const TrainOption& o : train_options())
    for (const std::string& key : o.sets) EXPECT_TRUE(keys.count(key)) << o.flag << " sets " << key;
}

// Another valid value of `option` than `config`'s.
std::string another_value(const TrainConfig& config, const TrainOption& option) {
  const std::string now = option_text(config, option);
  if (!option.switch_value.empty()) return option.switch_value;
  for (const std::string& v : option.allowed)
    if (v != now) return v;
  if (option.set_text) return "32";  // --size
  return std::visit(
      [&](auto member) -> std::string {
        if constexpr (std::is_same_v<decltype(member), std::monostate>) {
          return now;
        } else {
          using T = std::remove_cvref_t<decltype(config.*member)>;
          if constexpr (std::is_same_v<T, bool>) return now == "1" ? "0" : "1";
          else if constexpr (std::is_same_v<T, std::string>) return now + "x";
          else if constexpr (std::is_same_v<T, double>) return nlohmann::json(config.*member + 0.5).dump();
          else if constexpr (std::is_integral_v<T>) return std::to_string(config.*member + 1);
          else return now;
        }
      },
      option.field);
}

TEST(TrainOptions, TheStoredConfigurationHoldsEveryStoredFieldAndNothingOfTheCommand) {
  TrainConfig changed;
  for (const TrainOption& o : train_options())
    if (!o.key.empty() && o.key != "augmentation") set_option_text(changed, o, another_value(changed, o));
  changed.augmentation.scale_max = 3;
  const nlohmann::json j = nlohmann::json::parse(changed.to_json());
  const TrainConfig back = TrainConfig::from_json(changed.to_json());
  EXPECT_EQ(back.to_json(), changed.to_json());
  for (const TrainOption& o : train_options()) {
    if (o.key.empty()) continue;
    EXPECT_EQ(j.contains(o.key), o.on_resume != OnResume::CommandOnly) << o.key;
    if (o.on_resume != OnResume::CommandOnly) EXPECT_EQ(option_text(back, o), option_text(changed, o)) << o.key;
    else EXPECT_EQ(option_text(back, o), option_text(TrainConfig{}, o)) << o.key;
  }
  // A field missing from the text keeps its default.
  EXPECT_EQ(TrainConfig::from_json("{\"lr\": 0.5}").epochs, TrainConfig{}.epochs);
}

TEST(TrainOptions, ValidationTakesTheValuesTheTableAllowsAndNoOthers) {
  int checked = 0;
  for (const TrainOption& o : train_options()) {
    if (o.allowed.empty() || o.key.empty()) continue;
    for (const std::string& v : o.allowed) {
      TrainConfig c;
      set_option_text(c, o, v);
      EXPECT_NO_THROW(c.validate()) << o.flag << " " << v;
      ++checked;
    }
    TrainConfig c;
    set_option_text(c, o, o.allowed[0] == "1" || o.allowed[0] == "-1" ? "7" : "no-such-value");
    try {
      c.validate();
      ADD_FAILURE() << o.flag << ": a value the table does not allow passes";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(o.flag + " must be " + o.allowed[0]), std::string::npos) << e.what();
    }
  }
  EXPECT_GE(checked, 25);
  TrainConfig alpha;  // --keep-alpha's 4 channels, beside --channels' 1 and 3
  alpha.channels = 4;
  alpha.data = ".";
  EXPECT_NO_THROW(alpha.validate());
  TrainConfig no_wait;
  no_wait.collective_timeout = 0;
  EXPECT_THROW(no_wait.validate(), Error);
}

TEST(TrainOptions, ResumeTakesTheFlagsThatMayChangeAndRefusesAnotherValueForTheOthers) {
  const TrainConfig stored;
  // A value other than the stored one for every flag that may change.
  const std::map<std::string, std::string> changes = {
      {"--epochs", "7"},         {"--patience", "2"},     {"--device", "cpu"},      {"--workers", "1"},
      {"--backend", "reference"}, {"--threads", "1"},      {"--precision", "bf16"},  {"--tensorboard", "none"},
      {"--collectives", "mpi"},  {"--collective-timeout", "5.0"}, {"--cuda-graph", "1"}};
  const std::vector<std::string> may_change = flags_that_may_change_on_resume();
  std::set<std::string> expected;
  for (const auto& [flag, value] : changes) expected.insert(flag);
  EXPECT_EQ(std::set<std::string>(may_change.begin(), may_change.end()), expected);

  TrainConfig given;
  given.resume = true;  // of the command: taken whether or not a flag says so
  given.stop_after_steps = 3;
  given.progress = false;
  for (const auto& [flag, value] : changes) set_option_text(given, train_option(flag), value);
  const TrainConfig resumed = resumed_config(stored, given, [&](const std::string& f) { return changes.count(f) > 0; });
  for (const auto& [flag, value] : changes) EXPECT_EQ(option_text(resumed, train_option(flag)), value) << flag;
  EXPECT_TRUE(resumed.resume);
  EXPECT_EQ(resumed.stop_after_steps, 3);
  EXPECT_FALSE(resumed.progress);
  // Not on the command line: the stored values.
  const TrainConfig kept = resumed_config(stored, given, [](const std::string&) { return false; });
  for (const auto& [flag, value] : changes)
    EXPECT_EQ(option_text(kept, train_option(flag)), option_text(stored, train_option(flag))) << flag;

  // Any other stored flag: the stored value again is fine, another one is refused naming the flag.
  int refused = 0;
  for (const TrainOption& o : train_options()) {
    if (o.flag.empty() || o.on_resume != OnResume::MustMatch) continue;
    const auto only = [&](const std::string& f) { return f == o.flag; };
    EXPECT_NO_THROW(resumed_config(stored, stored, only)) << o.flag;
    TrainConfig other = stored;
    set_option_text(other, o, another_value(stored, o));
    try {
      resumed_config(stored, other, only);
      ADD_FAILURE() << o.flag << ": another value is taken on --resume";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(o.flag + ": ", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find("differs from the stored"), std::string::npos) << e.what();
      ++refused;
    }
  }
  EXPECT_GE(refused, 35);
}

}  // namespace
}  // namespace cuseg
