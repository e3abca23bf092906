// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/runtime.h"

#include <sys/resource.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace xcel::runtime {

BlasInfo blas_info() {
  BlasInfo info;
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info dl{};
  if (sym != nullptr && dladdr(sym, &dl) != 0 && dl.dli_fname != nullptr) info.library = dl.dli_fname;
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    // Only trust it when the same library that provides sgemm_ is OpenBLAS.
    Dl_info cfg{};
    if (dladdr(reinterpret_cast<void*>(fn), &cfg) != 0 && cfg.dli_fname != nullptr &&
        info.library == cfg.dli_fname) {
      info.is_openblas = true;
      info.config = fn();
    }
  }
  return info;
}

void set_blas_threads(int threads) {
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(threads);
}

void ensure_passive_omp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the default policy.
}

long long peak_rss_bytes() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<long long>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace xcel::runtime
