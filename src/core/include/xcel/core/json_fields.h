// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// One list of (JSON key, member) pairs that serves both directions, for option structs whose keys are not
/// their member names (so nlohmann's DEFINE_TYPE macros do not fit):
///   template <class F, class O> void fields(F&& f, O& o) { f("out", o.out_dir); f("seed", o.split.seed, 0); }
///   void to_json(json& j, const Options& o) { j = json::object(); fields(JsonWriter{j}, o); }
///   void from_json(const json& j, Options& o) { fields(JsonReader{j}, o); }
/// A field given with a fallback may be missing from files written by older versions.
#include <nlohmann/json.hpp>

namespace xcel {

struct JsonWriter {
  nlohmann::json& j;
  template <typename T>
  void operator()(const char* key, const T& value) const {
    j[key] = value;
  }
  template <typename T, typename D>
  void operator()(const char* key, const T& value, const D&) const {
    j[key] = value;
  }
};

struct JsonReader {
  const nlohmann::json& j;
  template <typename T>
  void operator()(const char* key, T& value) const {
    value = j.at(key).get<T>();
  }
  template <typename T, typename D>
  void operator()(const char* key, T& value, const D& fallback) const {
    value = j.contains(key) ? j.at(key).get<T>() : static_cast<T>(fallback);
  }
};

/// The fields every run's config.json starts with (the options types of the search and of fine-tuning name them
/// alike: model, out_dir, data, how the data is read and split, threads, command_line, cli).
template <typename F, typename O>
void run_fields(F&& f, O& o) {
  f("model", o.model);
  f("out", o.out_dir);
  f("data", o.data);
  f("val_size", o.split.val_size);
  f("seed", o.split.seed);
  // Runs written before the split seed was its own carved validation with `seed`.
  f("split_seed", o.split.split_seed, o.split.seed);
  f("val_data", o.split.val_data, std::string());
  f("mean", o.split.mean, std::vector<double>());
  f("std", o.split.std, std::vector<double>());
  f("image_size", o.split.image_size, std::int64_t{0});
  f("resize", o.split.resize, std::int64_t{0});
  f("channels", o.split.channels, std::int64_t{0});
  f("skip_bad_images", o.split.skip_bad_images, false);
  f("threads", o.threads);
  f("command_line", o.command_line, "");
  f("cli", o.cli, nlohmann::json());  // the options as given, for --config RUN/config.json
}

}  // namespace xcel
