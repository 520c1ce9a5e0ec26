// The tools' comma-separated number lists: non-negative finite numbers, and whole ones where the
// list holds widths or dilations (--decoder-channels, --decoder-atrous-rates, a checkpoint's
// description), every bad item named.
#include "cuseg/core/number_list.h"

#include <gtest/gtest.h>

#include "error_matchers.h"

namespace cuseg {
namespace {

TEST(NumberList, NonNegativeAndWholeListsNameTheBadItem) {
  EXPECT_EQ(parse_non_negative_list("1e-5,0.5,2", "--lambdas"), (std::vector<double>{1e-5, 0.5, 2}));
  EXPECT_EQ(parse_whole_list("256,128,64", "--decoder-channels"), (std::vector<int>{256, 128, 64}));
  test::expect_error([] { parse_non_negative_list("1,-2", "--lambdas"); }, {"--lambdas: '-2' is not a non-negative number"});
  test::expect_error([] { parse_non_negative_list("", "--lambdas"); }, {"--lambdas: no numbers given"});
  test::expect_error([] { parse_whole_list("12,24.5,36", "--decoder-atrous-rates"); },
                     {"--decoder-atrous-rates: 24.5 is not a whole number"});
  test::expect_error([] { parse_whole_list("64,1e12", "--decoder-channels"); },
                     {"--decoder-channels: 1e+12 is not a whole number"});
  test::expect_error([] { parse_whole_list("64,x", "--decoder-channels"); },
                     {"--decoder-channels: 'x' is not a non-negative number"});
}

}  // namespace
}  // namespace cuseg
