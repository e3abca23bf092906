// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Progress of a long loop on stderr: a bar redrawn in place with ETA when stderr is a terminal, plain log
/// lines every `every` steps otherwise (files, CI logs, pipes). Silent below log level info (--quiet).
///   Progress p("search", 300);
///   p.update(k + 1, "best 93.1%");   // each step
#include <string>

namespace xcel {

class Progress {
 public:
  Progress(std::string label, long long total, long long first_done = 0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `done` steps of `total` are finished; `text` describes the latest one.
  void update(long long done, const std::string& text);
  /// Ends the bar's line (also done by the destructor).
  void finish();

 private:
  std::string label_;
  long long total_, first_;
  double start_;
  double last_draw_ = -1;
  long long every_;
  bool tty_, enabled_, open_ = false;
};

}  // namespace xcel
