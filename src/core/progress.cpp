// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "xcel/core/clock.h"
#include "xcel/core/log.h"

namespace xcel {
namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

Progress::Progress(std::string label, long long total, long long first_done)
    : label_(std::move(label)),
      total_(std::max(1LL, total)),
      first_(first_done),
      start_(now()),
      every_(std::max(1LL, total / 20)),
      tty_(isatty(STDERR_FILENO) == 1),
      enabled_(spdlog::should_log(spdlog::level::info)) {}

Progress::~Progress() { finish(); }

void Progress::update(long long done, const std::string& text) {
  if (!enabled_) return;
  const double t = now();
  const long long steps = done - first_;
  const double eta = steps > 0 ? (t - start_) / static_cast<double>(steps) * static_cast<double>(total_ - done) : 0;
  if (tty_) {
    if (done < total_ && t - last_draw_ < 0.2) return;  // at most 5 redraws a second
    last_draw_ = t;
    constexpr int kWidth = 28;
    const int filled = static_cast<int>(kWidth * std::min(1.0, static_cast<double>(done) / static_cast<double>(total_)));
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld  %s  ETA %s", label_.c_str(), bar.c_str(), done, total_,
                 text.c_str(), eta_text(eta).c_str());
    std::fflush(stderr);
    open_ = true;
    if (done >= total_) finish();
    return;
  }
  if (done % every_ == 0 || done >= total_) spdlog::info("{} {}/{}  {}  ETA {}", label_, done, total_, text, eta_text(eta));
}

void Progress::finish() {
  if (open_) {
    std::fputc('\n', stderr);
    open_ = false;
  }
}

}  // namespace xcel
