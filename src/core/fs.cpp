// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "xcel/core/error.h"
#include "xcel/core/log.h"

namespace xcel::fs {
namespace stdfs = std::filesystem;

bool exists(const std::string& path) {
  std::error_code ec;
  return stdfs::exists(path, ec);
}

bool is_directory(const std::string& path) {
  std::error_code ec;
  return stdfs::is_directory(path, ec);
}

std::int64_t file_size(const std::string& path) {
  std::error_code ec;
  auto n = stdfs::file_size(path, ec);
  return ec ? -1 : static_cast<std::int64_t>(n);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (stdfs::equivalent(a, b, ec)) return true;
  return stdfs::weakly_canonical(a, ec) == stdfs::weakly_canonical(b, ec);
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  XCEL_CHECK(in.good(), ExitCode::kInput, "cannot read '{}'", path);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "'{}' is not valid JSON ({})", path, e.what());
  }
}

namespace {

// A temporary path beside `path` (same directory, unique per process).
std::string temp_path_beside(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

// Renames `tmp` to `path`, removing `tmp` on failure; Error(kInput) naming `path`.
void commit_atomic(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  stdfs::rename(tmp, path, ec);
  if (ec) {
    stdfs::remove(tmp, ec);
    XCEL_FAIL(ExitCode::kInput, "cannot write '{}': {}; check that its directory exists and is writable", path,
              ec.message());
  }
}

// XCEL_FAULT_WRITE=WHAT:N makes the N-th atomic write of the process (1-based) fail as a full disk (enospc), an I/O
// error (eio) or a killed process (kill: half the temporary file written, then SIGKILL), for the tests of what a
// failed write leaves behind. Unset in normal use.
struct WriteFault {
  int errnum = 0;
  bool kill = false;
  long at = 0;
};

WriteFault write_fault() {
  static const WriteFault fault = [] {
    WriteFault f;
    const char* env = std::getenv("XCEL_FAULT_WRITE");
    if (env == nullptr || *env == '\0') return f;
    const std::string spec(env);
    const auto colon = spec.find(':');
    const std::string what = spec.substr(0, colon);
    f.at = colon == std::string::npos ? 1 : std::atol(spec.c_str() + colon + 1);
    if (what == "enospc") f.errnum = ENOSPC;
    else if (what == "eio") f.errnum = EIO;
    else if (what == "kill") f.kill = true;
    else f.at = 0;
    return f;
  }();
  return fault;
}

// Writes all of `content` to the open file `fd`; returns 0 or the errno of the failure.
int write_all(int fd, const std::string& content, bool fault) {
  const WriteFault f = write_fault();
  size_t done = 0;
  const size_t stop = fault && f.kill ? content.size() / 2 : content.size();
  while (done < stop) {
    const ssize_t n = ::write(fd, content.data() + done, stop - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  if (fault && f.kill) ::kill(::getpid(), SIGKILL);
  if (fault) return f.errnum;
  return ::fsync(fd) == 0 ? 0 : errno;
}

}  // namespace

void check_writable(const std::string& path, const std::string& option) {
  const stdfs::path p(path);
  const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  XCEL_CHECK(!is_directory(path), ExitCode::kUsage, "{} '{}' is a directory; give a file name", option, path);
  XCEL_CHECK(is_directory(dir), ExitCode::kUsage, "{} '{}': directory '{}' does not exist; create it first", option,
             path, dir);
  XCEL_CHECK(::access(dir.c_str(), W_OK) == 0, ExitCode::kUsage, "{} '{}': directory '{}' is not writable", option,
             path, dir);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  static std::atomic<long> writes{0};
  const long n = ++writes;
  const bool fault = write_fault().at == n;
  if (fault)
    spdlog::warn("XCEL_FAULT_WRITE: write {} ('{}') fails as asked", n, path);
  const std::string tmp = temp_path_beside(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  XCEL_CHECK(fd >= 0, ExitCode::kInput, "cannot write '{}': {}; check that its directory exists and is writable", path,
             std::strerror(errno));
  int err = write_all(fd, content, fault);
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    std::error_code ec;
    stdfs::remove(tmp, ec);
    XCEL_FAIL(ExitCode::kInput, "cannot write '{}': {}; {}", path, std::strerror(err),
              err == ENOSPC || err == EDQUOT ? "free space on its disk and run the command again (a run continues "
                                               "with --resume)"
                                             : "check the disk and run the command again (a run continues with --resume)");
  }
  commit_atomic(tmp, path);
}

void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t owner = static_cast<pid_t>(std::atol(pid.c_str()));
    if (owner == ::getpid() || (::kill(owner, 0) == 0 || errno != ESRCH)) continue;  // its writer may still run
    std::error_code rm;
    stdfs::remove_all(it->path(), rm);
  }
}

std::string cache_dir(const std::string& area) {
  if (const char* env = std::getenv("XCEL_CACHE_DIR")) return std::string(env) + "/" + area;
  if (const char* home = std::getenv("HOME")) return std::string(home) + "/.cache/xcel/" + area;
  return "";
}

}  // namespace xcel::fs
