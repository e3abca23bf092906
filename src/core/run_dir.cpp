// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "xcel/core/fs.h"

namespace xcel {

RunDir::RunDir(std::string path) : path_(std::move(path)) {}

std::string RunDir::file(const std::string& name) const { return path_ + "/" + name; }

bool RunDir::has(const std::string& name) const { return fs::exists(file(name)); }

namespace {
// Every file a run writes at its top level.
const char* const kRunFiles[] = {RunDir::kConfig, RunDir::kSummary, RunDir::kEpisodes, RunDir::kHistory,
                                 RunDir::kPolicy, RunDir::kProfile, RunDir::kBest,     RunDir::kBestLite,
                                 RunDir::kPruned, RunDir::kFinetuned, RunDir::kReport};
}  // namespace

bool RunDir::holds(const std::string& path) const {
  for (const char* name : kRunFiles)
    if (fs::same_file(file(name), path)) return true;
  for (const char* dir : {kCheckpoint, kFinetuneDir}) {
    std::error_code ec;
    const auto inside = std::filesystem::weakly_canonical(path, ec).parent_path();
    if (!ec && inside == std::filesystem::weakly_canonical(file(dir), ec)) return true;
  }
  return false;
}

void RunDir::check_out(const std::vector<std::string>& inputs) const {
  XCEL_CHECK(!path_.empty(), ExitCode::kUsage, "--out DIR is required");
  for (const auto& input : inputs) {
    if (input.empty()) continue;
    const bool clash = fs::same_file(path_, input) || holds(input);
    XCEL_CHECK(!clash, ExitCode::kUsage, "--out '{}' would overwrite the input model '{}'; choose another --out", path_,
               input);
  }
  XCEL_CHECK(!fs::exists(path_) || fs::is_directory(path_), ExitCode::kUsage, "--out '{}' exists and is not a directory",
             path_);
}

void RunDir::start_new(const std::string& kind, const std::vector<std::string>& inputs) const {
  check_out(inputs);
  lock();
  XCEL_CHECK(!has_checkpoint() && !has(kSummary), ExitCode::kUsage,
             "'{}' already holds a {}; continue it with --resume or choose another --out", path_, kind);
}

void RunDir::require_checkpoint(const std::string& kind) const {
  XCEL_CHECK(!path_.empty(), ExitCode::kUsage, "--out DIR is required");
  XCEL_CHECK(has_checkpoint(), ExitCode::kInput, "--resume: '{}' has no checkpoint of a {}; start a new run without --resume",
             path_, kind);
  lock();
}

// The lock is an flock on DIR/.lock, held until the process ends (the kernel releases it on exit, also on a
// crash or SIGKILL, so a stale lock never blocks a later run); the file holds the owner's pid for the message.
void RunDir::lock() const {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create --out '{}': {}", path_, ec.message());
  const std::string path = file(kLock);
  // Held already by this process (a job that checks the directory twice, or a resumed run in the same process).
  static std::vector<std::pair<std::string, int>> held;  // canonical directory, fd: open for the process's life
  const std::string canonical = std::filesystem::canonical(path_, ec).string();
  for (const auto& h : held)
    if (h.first == canonical) return;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  XCEL_CHECK(fd >= 0, ExitCode::kInput, "cannot create '{}': {}", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char owner[32] = {0};
    const ssize_t n = ::pread(fd, owner, sizeof owner - 1, 0);
    ::close(fd);
    XCEL_FAIL(ExitCode::kUsage, "'{}' is in use by another xcel process{}; wait for it to end or choose another --out",
              path_, n > 0 ? fmt::format(" (pid {})", std::string(owner, static_cast<size_t>(n))) : "");
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message of a run that finds the directory busy.
  }
  held.emplace_back(canonical, fd);
  fs::remove_stale_temporaries(path_);  // left by an earlier owner that was killed mid-write
}

void RunDir::create() const {
  std::error_code ec;
  std::filesystem::create_directories(file(kCheckpoint), ec);
  XCEL_CHECK(!ec, ExitCode::kInput, "cannot create '{}': {}", file(kCheckpoint), ec.message());
}

void RunDir::write(const std::string& name, const std::string& content) const {
  fs::write_file_atomic(file(name), content);
}

void RunDir::write_json(const std::string& name, const nlohmann::json& j) const { write(name, j.dump(2) + "\n"); }

nlohmann::json RunDir::read_json(const std::string& name) const { return fs::read_json(file(name)); }

std::vector<std::string> RunDir::read_lines(const std::string& name) const {
  std::vector<std::string> lines;
  std::ifstream in(file(name));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

void RunDir::write_lines(const std::string& name, const std::vector<std::string>& lines) const {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  write(name, out);
}

void RunDir::write_state(const nlohmann::json& state) const { write(kState, state.dump() + "\n"); }

std::string RunDir::generation_file(const std::string& name, long generation) const {
  if (generation == 0) return file(name);
  const std::filesystem::path p(name);
  return file((p.parent_path() / (p.stem().string() + ".g" + std::to_string(generation) + p.extension().string()))
                  .string());
}

long RunDir::generation_of(const nlohmann::json& state) { return state.value("generation", 0L); }

void RunDir::commit_state(nlohmann::json state, long generation, const std::vector<std::string>& names) const {
  state["generation"] = generation;
  write_state(state);
  for (const auto& name : names) {
    const std::filesystem::path p(file(name));
    const std::string stem = p.stem().string(), ext = p.extension().string();
    const std::string keep = std::filesystem::path(generation_file(name, generation)).filename().string();
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(p.parent_path(), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      const std::string f = it->path().filename().string();
      if (f == keep || f.size() < stem.size() + ext.size()) continue;
      const bool plain = f == stem + ext;
      const std::string middle = f.substr(stem.size(), f.size() - stem.size() - ext.size());
      const bool other = f.compare(0, stem.size(), stem) == 0 && f.compare(f.size() - ext.size(), ext.size(), ext) == 0 &&
                         middle.size() > 2 && middle.compare(0, 2, ".g") == 0 &&
                         middle.find_first_not_of("0123456789", 2) == std::string::npos;
      if (plain || other) {
        std::error_code rm;
        std::filesystem::remove(it->path(), rm);
      }
    }
  }
}

void RunDir::interrupted(const std::string& where, const std::string& command) const {
  XCEL_FAIL(ExitCode::kInterrupted, "interrupted {}; state saved, continue with: xcel {} --resume --out {}", where,
            command, path_);
}

}  // namespace xcel
