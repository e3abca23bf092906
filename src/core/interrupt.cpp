// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/interrupt.h"

#include <csignal>

namespace xcel {
namespace {
volatile std::sig_atomic_t g_interrupted = 0;
int g_depth = 0;  // nested scopes share the outermost one's flag: a Ctrl-C is never forgotten by an inner scope
extern "C" void on_sigint(int) { g_interrupted = 1; }
}  // namespace

InterruptScope::InterruptScope() {
  if (g_depth++ == 0) g_interrupted = 0;
  previous_ = std::signal(SIGINT, on_sigint);
  previous_term_ = std::signal(SIGTERM, on_sigint);
}

InterruptScope::~InterruptScope() {
  std::signal(SIGINT, previous_);
  std::signal(SIGTERM, previous_term_);
  --g_depth;
}

bool interrupted() { return g_interrupted != 0; }

}  // namespace xcel
