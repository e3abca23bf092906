// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// --config FILE for every command: a JSON object or TOML keys naming the command's long options (`latency-ms`
/// or `latency_ms`; TOML may put them under the command's section, `[prune]`), or a run's own config.json,
/// whose "cli" holds the options the run was started with. Options on the command line win over the file's;
/// per-invocation options (--out, --resume, --json, --config) are never read from a file. Unknown keys are errors.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace xcel::cli {

class ConfigFile : public CLI::Config {
 public:
  explicit ConfigFile(CLI::App* app);
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  CLI::App* app_;
};

/// Registers --config on the top-level app (every command takes it).
void add_config_option(CLI::App& app);

/// The options this invocation of `cmd` was given (command line or --config), as a run saves them in its
/// config.json ("cli": {"command": "prune", "options": {...}}) so that `--config RUN/config.json` starts a run
/// like it.
nlohmann::json given_options(const CLI::App* cmd);

}  // namespace xcel::cli
