// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// Energy drawn from the battery while a piece of work runs, from the kernel's power-supply class
/// (/sys/class/power_supply/NAME: type "Battery", current_now in uA and voltage_now in uV, or power_now in uW), as
/// Android phones and Linux laptops expose it. Sampled on a thread; machines without a battery (servers, this
/// host) give status "unavailable" with the reason. XCEL_POWER_SUPPLY names another class directory.
///   EnergyMeter meter;            // starts sampling
///   ... train ...
///   EnergyReading e = meter.stop();
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace xcel {

struct EnergyReading {
  std::string status = "unavailable";  // measured | unavailable
  std::string why;                     // unavailable: the reason; measured while charging: what that means
  std::string battery;                 // the power-supply directory read
  double seconds = 0, joules = 0, mean_watts = 0;
  int samples = 0;
  bool charging = false;  // the battery said Charging or Full at some sample: the figure is the net battery flow
};
void to_json(nlohmann::json& j, const EnergyReading& e);

/// The power-supply class directory (XCEL_POWER_SUPPLY, else /sys/class/power_supply).
std::string power_supply_root();
/// The first battery under `root` that reports current and voltage (or power); "" with `why` set when none does.
std::string find_battery(const std::string& root, std::string* why);
/// Watts drawn from the battery now (|current| x voltage, or |power|); < 0 when unreadable. `charging` is set when
/// the battery's status says Charging or Full.
double battery_watts(const std::string& battery, bool* charging);

class EnergyMeter {
 public:
  explicit EnergyMeter(double period_seconds = 0.25);
  ~EnergyMeter();
  EnergyMeter(const EnergyMeter&) = delete;
  EnergyMeter& operator=(const EnergyMeter&) = delete;
  /// Stops sampling (once) and integrates the samples over the time since construction.
  EnergyReading stop();

 private:
  void sample();
  std::string battery_, why_;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::pair<double, double>> samples_;  // (seconds since start, watts)
  bool charging_ = false, stopped_ = false;
  double period_;
  std::mutex mutex_;
  std::atomic<bool> done_{false};
  std::thread thread_;
  EnergyReading result_;
};

}  // namespace xcel
