// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/core/run_dir.h"

#include <filesystem>
#include <fstream>

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
  XCEL_CHECK(!has_checkpoint() && !has(kSummary), ExitCode::kUsage,
             "'{}' already holds a {}; continue it with --resume or choose another --out", path_, kind);
}

void RunDir::require_checkpoint(const std::string& kind) const {
  XCEL_CHECK(!path_.empty(), ExitCode::kUsage, "--out DIR is required");
  XCEL_CHECK(has_checkpoint(), ExitCode::kInput, "--resume: '{}' has no checkpoint of a {}; start a new run without --resume",
             path_, kind);
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

void RunDir::interrupted(const std::string& where, const std::string& command) const {
  XCEL_FAIL(ExitCode::kInterrupted, "interrupted {}; state saved, continue with: xcel {} --resume --out {}", where,
            command, path_);
}

}  // namespace xcel
