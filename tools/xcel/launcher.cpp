// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// `xcel` is this small launcher: it sets OMP_WAIT_POLICY=PASSIVE (unless the caller set it) and executes
// xcel-core beside it. libgomp reads the variable when it is loaded, before any of xcel's code runs, and its
// default spin-waiting ruins latency measurements when another process keeps a core busy.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    std::fprintf(stderr, "xcel: error: cannot locate the xcel executable (/proc/self/exe unreadable)\n");
    return 1;
  }
  self[n] = '\0';
  std::string core(self);
  core = core.substr(0, core.rfind('/') + 1) + "xcel-core";
  execv(core.c_str(), argv);
  std::fprintf(stderr, "xcel: error: cannot run %s (%s); rebuild or reinstall xcel\n", core.c_str(),
               std::strerror(errno));
  return 1;
}
