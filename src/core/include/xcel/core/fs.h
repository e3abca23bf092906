// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace xcel::fs {

bool exists(const std::string& path);
bool is_directory(const std::string& path);
std::int64_t file_size(const std::string& path);
/// True when both paths name the same existing file (after resolving links), or are the same path.
bool same_file(const std::string& a, const std::string& b);

/// Writes `content` to `path` atomically: a temporary file in the same directory, synced, then renamed. Every file
/// xcel writes goes through here (models and checkpoints are serialised to memory first). On failure (a full disk,
/// an I/O error) the temporary file is removed, `path` keeps its old content and Error(kInput) names the file and
/// the cause. XCEL_FAULT_WRITE=enospc|eio|kill:N simulates a failure of the process's N-th write (tests).
void write_file_atomic(const std::string& path, const std::string& content);

/// Error(kUsage) unless `path` can be written later: its directory exists and is writable, and `path` is not a
/// directory. Long jobs check their output file first, so a typo costs seconds, not the run.
void check_writable(const std::string& path, const std::string& option);

/// Removes the temporaries (NAME.tmp.PID, files or directories) under `dir` left by processes that no longer run.
void remove_stale_temporaries(const std::string& dir);

/// xcel's cache directory for `area` ("latency", "data"): $XCEL_CACHE_DIR/AREA, else ~/.cache/xcel/AREA; ""
/// when neither variable is set.
std::string cache_dir(const std::string& area);

/// Parses a JSON file; Error(kInput) naming the file when it is missing or not JSON.
nlohmann::json read_json(const std::string& path);

}  // namespace xcel::fs
