// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Facts about the math runtime this process actually uses.
#include <string>

namespace xcel::runtime {

struct BlasInfo {
  std::string library;  // shared object that provides sgemm_, e.g. /usr/lib/.../libopenblas.so.0
  std::string config;   // openblas_get_config() when the provider is OpenBLAS, else empty
  bool is_openblas = false;
};

/// Which library answers the `sgemm_` symbol in this process (the one LibTorch's convolutions call).
BlasInfo blas_info();

/// Sets OpenBLAS's own thread pool size (no-op when the provider is not OpenBLAS).
void set_blas_threads(int threads);

/// libgomp reads OMP_WAIT_POLICY when it is loaded, before main. With the default (spinning) policy a busy
/// second core ruins latency measurements, so main() re-executes the process once with
/// OMP_WAIT_POLICY=PASSIVE unless the variable is already set. Returns only if no re-exec happened.
void ensure_passive_omp(char** argv);

/// Peak resident set size of this process so far (getrusage), in bytes.
long long peak_rss_bytes();

}  // namespace xcel::runtime
