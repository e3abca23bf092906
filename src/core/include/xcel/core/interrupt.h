// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Ctrl-C for long runs: while an InterruptScope lives, SIGINT (and SIGTERM: a scheduler's preemption or time
/// limit, `kill`) sets a flag instead of killing the process;
/// the run polls interrupted(), saves its state and throws Error(kInterrupted). Scopes nest: an inner scope keeps
/// a Ctrl-C that arrived in the outer one.
namespace xcel {

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  void (*previous_)(int);
  void (*previous_term_)(int);
};

/// True once SIGINT or SIGTERM arrived inside the current InterruptScope.
bool interrupted();

}  // namespace xcel
