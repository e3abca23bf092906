// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// --config FILE: options of any command from a JSON or TOML file, or from a run's own config.json; the command
// line wins over the file.
#include "xcel/cli/config_file.h"

#include <algorithm>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>

#include "xcel/core/error.h"

namespace xcel::cli {
namespace {

// Options that name where this invocation writes or how it prints; a run's saved options never carry them.
const std::set<std::string>& per_invocation() {
  static const std::set<std::string> names{"out", "resume", "json", "config", "help", "junit"};
  return names;
}

// The subcommands this invocation runs, outermost first ("latency", "table").
std::vector<const CLI::App*> parsed_path(const CLI::App* app) {
  std::vector<const CLI::App*> path;
  for (const CLI::App* a = app; a != nullptr;) {
    const auto subs = a->get_subcommands();
    a = subs.empty() ? nullptr : subs.front();
    if (a != nullptr) path.push_back(a);
  }
  return path;
}

std::string path_name(const std::vector<const CLI::App*>& path) {
  std::string s;
  for (const auto* a : path) s += (s.empty() ? "" : " ") + a->get_name();
  return s;
}

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

// JSON: {"option": value, ...}, option names as on the command line ("latency-ms" or "latency_ms"); arrays give a
// list option its values. A run's config.json gives the options it was started with (its "cli").
std::vector<CLI::ConfigItem> json_items(const nlohmann::json& file, const std::string& name, const std::string& command) {
  const nlohmann::json* options = &file;
  if (file.contains("cli") && file.contains("command_line")) {
    const auto& cli = file.at("cli");
    XCEL_CHECK(cli.is_object() && cli.contains("options"), ExitCode::kInput,
               "config '{}' is a run's config.json without the options it was started with; give the options again "
               "on the command line", name);
    XCEL_CHECK(cli.value("command", std::string()) == command, ExitCode::kUsage,
               "config '{}' holds the options of 'xcel {}', not of 'xcel {}'", name,
               cli.value("command", std::string()), command);
    options = &cli.at("options");
  } else if (file.contains("command_line") && !file.contains("cli")) {
    throw Error(ExitCode::kInput, fmt::format(
                  "config '{}' is a run's config.json written before xcel saved a run's options; give the options on "
                "the command line", name));
  }
  XCEL_CHECK(options->is_object(), ExitCode::kInput, "config '{}' must hold a JSON object of option names and values",
             name);
  std::vector<CLI::ConfigItem> items;
  for (const auto& [key, value] : options->items()) {
    if (value.is_null()) continue;
    CLI::ConfigItem item;
    item.name = key;
    XCEL_CHECK(!value.is_object(), ExitCode::kInput,
               "config '{}': '{}' holds an object; give each option a value, a list or true/false", name, key);
    if (value.is_array()) {
      for (const auto& v : value) item.inputs.push_back(scalar_text(v));
    } else {
      item.inputs.push_back(scalar_text(value));
    }
    items.push_back(std::move(item));
  }
  return items;
}

// A value as the command line gave it: a number when it is one (so a saved run's options read naturally).
nlohmann::json typed(const std::string& text) {
  static const std::regex integer(R"(-?[0-9]{1,15})"), real(R"(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
  if (std::regex_match(text, integer)) return std::stoll(text);
  if (std::regex_match(text, real)) return std::stod(text);
  return text;
}

}  // namespace

ConfigFile::ConfigFile(CLI::App* app) : app_(app) {}

std::string ConfigFile::to_config(const CLI::App* app, bool default_also, bool write_description,
                                  std::string prefix) const {
  return CLI::ConfigTOML().to_config(app, default_also, write_description, std::move(prefix));
}

std::vector<CLI::ConfigItem> ConfigFile::from_config(std::istream& input) const {
  const std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  const std::string name = app_->get_option("--config")->as<std::string>();
  const auto path = parsed_path(app_);
  XCEL_CHECK(!path.empty(), ExitCode::kUsage, "--config needs a command, e.g. 'xcel prune --config {}'", name);
  const CLI::App* leaf = path.back();
  const std::string command = path_name(path);

  std::vector<CLI::ConfigItem> items;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ExitCode::kInput, fmt::format(
                  "config '{}' is not valid JSON ({}); fix the file", name, e.what()));
    }
    items = json_items(j, name, command);
  } else {
    std::istringstream in(text);
    try {
      items = CLI::ConfigTOML().from_config(in);
    } catch (const CLI::ParseError& e) {
      throw Error(ExitCode::kInput, fmt::format(
                  "config '{}' is neither JSON nor TOML ({}); fix the file", name, e.what()));
    }
    // TOML sections name the command ("[prune]", "[latency.table]"); keys outside a section are the command's.
    items.erase(std::remove_if(items.begin(), items.end(),
                               [](const CLI::ConfigItem& i) { return i.name == "++" || i.name == "--"; }),
                items.end());
  }

  std::vector<std::string> parents;
  for (const auto* a : path) parents.push_back(a->get_name());
  for (auto& item : items) {
    if (!item.parents.empty()) {
      XCEL_CHECK(item.parents == parents, ExitCode::kUsage,
                 "config '{}': '{}' is for 'xcel {}', not 'xcel {}'", name, item.fullname(),
                 CLI::detail::join(item.parents, " "), command);
    }
    item.parents = parents;
    std::replace(item.name.begin(), item.name.end(), '_', '-');
    XCEL_CHECK(per_invocation().count(item.name) == 0, ExitCode::kUsage,
               "config '{}': --{} is never read from a file; give it on the command line", name, item.name);
    XCEL_CHECK(leaf->get_option_no_throw("--" + item.name) != nullptr, ExitCode::kUsage,
               "config '{}': 'xcel {}' has no option --{}; see 'xcel {} --help'", name, command, item.name, command);
  }
  return items;
}

nlohmann::json given_options(const CLI::App* cmd) {
  nlohmann::json options = nlohmann::json::object();
  for (const CLI::Option* opt : cmd->get_options()) {
    const std::string name = opt->get_lnames().empty() ? std::string() : opt->get_lnames().front();
    if (name.empty() || opt->count() == 0 || per_invocation().count(name) > 0) continue;
    const auto& results = opt->results();
    if (opt->get_expected_min() == 0) {
      // A flag: its value as parsed ("--no-reconstruct" is reconstruct=false).
      options[name] = opt->as<bool>();
    } else if (results.size() == 1 && opt->get_items_expected_max() <= 1) {
      options[name] = typed(results.front());
    } else {
      for (const auto& r : results) options[name].push_back(typed(r));
    }
  }
  nlohmann::json cli = {{"options", options}};
  std::vector<const CLI::App*> path;
  for (const CLI::App* a = cmd; a != nullptr && a->get_parent() != nullptr; a = a->get_parent()) path.insert(path.begin(), a);
  cli["command"] = path_name(path);
  return cli;
}

void add_config_option(CLI::App& app) {
  app.set_config("--config", "",
                 "Options from a file: JSON ({\"flops\": 0.25, \"mean\": [0.5]}) or TOML (flops = 0.25), or a run's own "
                 "config.json to start a new run like it; options on the command line win");
  app.config_formatter(std::make_shared<ConfigFile>(&app));
}

}  // namespace xcel::cli
