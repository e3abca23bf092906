// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/fs.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "xcel/core/error.h"

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

std::string temp_path_beside(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void commit_atomic(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  stdfs::rename(tmp, path, ec);
  if (ec) {
    stdfs::remove(tmp, ec);
    XCEL_FAIL(ExitCode::kInput, "cannot write '{}': {}; check that its directory exists and is writable", path,
              ec.message());
  }
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

void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = temp_path_beside(path);
  {
    std::ofstream out(tmp, std::ios::binary);
    XCEL_CHECK(out.good(), ExitCode::kInput, "cannot write '{}'; check that its directory exists and is writable",
               path);
    out << content;
    out.close();
    XCEL_CHECK(out.good(), ExitCode::kInput, "writing '{}' failed (disk full?)", path);
  }
  commit_atomic(tmp, path);
}

std::string cache_dir(const std::string& area) {
  if (const char* env = std::getenv("XCEL_CACHE_DIR")) return std::string(env) + "/" + area;
  if (const char* home = std::getenv("HOME")) return std::string(home) + "/.cache/xcel/" + area;
  return "";
}

}  // namespace xcel::fs
