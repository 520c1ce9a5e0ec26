// expect_error: the call throws cuseg::Error and its message names everything it should.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "cuseg/core/error.h"

namespace cuseg::test {

template <class F>
void expect_error(F&& f, std::initializer_list<const char*> needles) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const char* n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    return;
  }
  ADD_FAILURE() << "no cuseg::Error thrown";
}

}  // namespace cuseg::test
