// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Battery energy from the power-supply class of sysfs, sampled on a thread.
#include "xcel/core/power.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace xcel {
namespace {

std::string read_word(const std::string& path) {
  std::ifstream in(path);
  std::string w;
  in >> w;
  return w;
}

bool read_number(const std::string& path, double* out) {
  std::ifstream in(path);
  double v = 0;
  if (!(in >> v)) return false;
  *out = v;
  return true;
}

}  // namespace

void to_json(nlohmann::json& j, const EnergyReading& e) {
  j = {{"status", e.status}, {"why", e.why}, {"battery", e.battery}, {"seconds", e.seconds}, {"joules", e.joules},
       {"mean_watts", e.mean_watts}, {"samples", e.samples}, {"charging", e.charging}};
}

std::string power_supply_root() {
  const char* env = std::getenv("XCEL_POWER_SUPPLY");
  return env != nullptr && *env != '\0' ? env : "/sys/class/power_supply";
}

std::string find_battery(const std::string& root, std::string* why) {
  std::error_code ec;
  std::vector<std::string> dirs;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) dirs.push_back(e.path().string());
  if (ec) {
    *why = "no power-supply class at " + root + " (" + ec.message() + ")";
    return "";
  }
  std::sort(dirs.begin(), dirs.end());
  std::string seen;
  for (const auto& d : dirs) {
    if (read_word(d + "/type") != "Battery") continue;
    bool charging = false;
    if (battery_watts(d, &charging) >= 0) return d;
    seen += (seen.empty() ? "" : ", ") + std::filesystem::path(d).filename().string();
  }
  *why = seen.empty() ? "no battery under " + root + " (a machine on mains power)"
                      : "battery " + seen + " under " + root + " reports neither current_now and voltage_now nor power_now";
  return "";
}

double battery_watts(const std::string& battery, bool* charging) {
  const std::string status = read_word(battery + "/status");
  *charging = status == "Charging" || status == "Full";
  double ua = 0, uv = 0, uw = 0;
  if (read_number(battery + "/current_now", &ua) && read_number(battery + "/voltage_now", &uv) && uv > 0)
    return std::fabs(ua) * 1e-6 * uv * 1e-6;
  if (read_number(battery + "/power_now", &uw)) return std::fabs(uw) * 1e-6;
  return -1;
}

EnergyMeter::EnergyMeter(double period_seconds) : start_(std::chrono::steady_clock::now()), period_(period_seconds) {
  battery_ = find_battery(power_supply_root(), &why_);
  if (battery_.empty()) return;
  sample();
  thread_ = std::thread([this] {
    const auto step = std::chrono::duration<double>(period_);
    while (!done_.load()) {
      std::this_thread::sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(step));
      if (!done_.load()) sample();
    }
  });
}

EnergyMeter::~EnergyMeter() { stop(); }

void EnergyMeter::sample() {
  bool charging = false;
  const double w = battery_watts(battery_, &charging);
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::lock_guard<std::mutex> lock(mutex_);
  if (w < 0) return;
  samples_.push_back({t, w});
  charging_ = charging_ || charging;
}

EnergyReading EnergyMeter::stop() {
  if (stopped_) return result_;
  stopped_ = true;
  done_.store(true);
  if (thread_.joinable()) thread_.join();
  EnergyReading& r = result_;
  if (!battery_.empty()) sample();  // the end of the interval: the last sample is its last moment
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (battery_.empty()) {
    r.why = why_;
    return r;
  }
  r.battery = battery_;
  r.samples = static_cast<int>(samples_.size());
  if (samples_.empty()) {
    r.why = "battery " + battery_ + " became unreadable";
    return r;
  }
  // Trapezoids between samples; the power of the first and last sample holds to the ends of the interval.
  double joules = samples_.front().second * samples_.front().first;
  for (size_t i = 1; i < samples_.size(); ++i)
    joules += 0.5 * (samples_[i - 1].second + samples_[i].second) * (samples_[i].first - samples_[i - 1].first);
  joules += samples_.back().second * std::max(0.0, r.seconds - samples_.back().first);
  r.status = "measured";
  r.joules = joules;
  r.mean_watts = r.seconds > 0 ? joules / r.seconds : samples_.front().second;
  r.charging = charging_;
  if (r.charging)
    r.why = "the battery was charging (USB or mains): the figure is the battery's net flow, not the work's draw; "
            "unplug the charger to measure the draw";
  return r;
}

}  // namespace xcel
