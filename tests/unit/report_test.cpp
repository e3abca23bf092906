// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include <gtest/gtest.h>

#include "xcel/report/table.h"

namespace xcel::report {
namespace {

TEST(Table, AlignsColumns) {
  Table t({"name", "n"}, {Align::kLeft, Align::kRight});
  t.add({"a", "1"});
  t.add({"longer", "1000"});
  EXPECT_EQ(t.str(), "name       n\n------  ----\na          1\nlonger  1000\n");
}

TEST(Format, HumanCounts) {
  EXPECT_EQ(human_count(29128448), "29.13M");
  EXPECT_EQ(human_count(1814073344), "1.81G");
  EXPECT_EQ(human_count(870), "870");
  EXPECT_EQ(percent(0.92661), "92.66%");
  EXPECT_EQ(shape_str({1, 3, 224, 224}), "1x3x224x224");
}

}  // namespace
}  // namespace xcel::report
