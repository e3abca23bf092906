// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// `xcel finetune --target PHONE`: shard, push, run xcel on the device, pull back (see device_finetune.h).
#include "device_finetune.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/core/subprocess.h"
#include "xcel/data/augment.h"
#include "xcel/data/tensors.h"
#include "xcel/device/adb.h"
#include "xcel/ir/model.h"
#include "xcel/jobs/inputs.h"
#include "xcel/latency/oracle.h"
#include "xcel/train/evaluate.h"

namespace xcel::jobs {
namespace {

constexpr double kShellTimeout = 60;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The augmentation the host resolved, as a word the device resolves the same way ("auto" depends on the dataset's
// name, which the shard does not keep).
std::string augment_word(const data::Augment& a) {
  if (a.pad > 0) return a.flip ? "crop-flip" : "crop";
  return a.flip ? "flip" : "none";
}

std::string numbers(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ",") + fmt::format("{}", x);
  return s;
}

std::string quoted(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + shell_quote(w);
  return s;
}

// One device and the run's directory on it.
class Device {
 public:
  Device(std::string serial, std::string dir) : serial_(std::move(serial)), dir_(std::move(dir)) {}
  const std::string& serial() const { return serial_; }
  std::string path(const std::string& rel) const { return dir_ + "/" + rel; }
  ProcessResult shell(const std::string& command) const {
    return device::adb_shell(serial_, command, kShellTimeout, "fine-tuning");
  }
  bool exists(const std::string& remote) const {
    return device::adb_exists(serial_, remote, "fine-tuning");
  }
  void mkdir(const std::string& remote) const {
    const ProcessResult r = shell("mkdir -p " + shell_quote(remote));
    XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "cannot create {} on {}: {}", remote, serial_,
               device::first_line(r.err + r.out));
  }
  // Pushes a file; returns its size.
  std::int64_t push(const std::string& local, const std::string& remote, double timeout) const {
    device::adb_push(serial_, local, remote, timeout);
    return fs::file_size(local);
  }
  // Pulls a file into `local` atomically (a partial file never takes the name).
  void pull(const std::string& remote, const std::string& local, double timeout) const {
    const std::string part = local + ".part";
    device::adb_pull(serial_, remote, part, timeout);
    std::error_code ec;
    std::filesystem::rename(part, local, ec);
    XCEL_CHECK(!ec, ExitCode::kInput, "cannot write '{}': {}", local, ec.message());
  }

 private:
  std::string serial_, dir_;
};

// The options of the device's `xcel finetune`, with the shard's file names in place of the host's paths.
std::vector<std::string> device_arguments(const train::FinetuneOptions& o, const data::Augment& aug) {
  std::vector<std::string> a{"finetune", "--model", "model.pt", "--data", "idx:data", "--val-data", "idx:val",
                             "--out", "run", "--json"};
  auto opt = [&](const char* name, const std::string& value) {
    a.push_back(name);
    a.push_back(value);
  };
  opt("--epochs", std::to_string(o.epochs));
  opt("--lr", fmt::format("{}", o.lr));
  opt("--momentum", fmt::format("{}", o.momentum));
  opt("--weight-decay", fmt::format("{}", o.weight_decay));
  opt("--warmup-epochs", fmt::format("{}", o.warmup_epochs));
  opt("--batch", std::to_string(o.batch));
  opt("--augment", augment_word(aug));
  opt("--seed", std::to_string(o.split.seed));
  opt("--threads", std::to_string(o.threads));
  if (o.accumulate != 1) opt("--accumulate", std::to_string(o.accumulate));
  if (o.freeze_first > 0) opt("--freeze-first", std::to_string(o.freeze_first));
  if (o.train_last > 0) opt("--train-last", std::to_string(o.train_last));
  if (o.max_memory_mb > 0) opt("--max-memory-mb", fmt::format("{}", o.max_memory_mb));
  if (o.from_scratch) a.push_back("--from-scratch");
  if (!o.teacher.empty()) {
    opt("--teacher", "teacher.pt");
    opt("--kd-alpha", fmt::format("{}", o.kd_alpha));
    opt("--kd-temperature", fmt::format("{}", o.kd_temperature));
  }
  if (!o.quantized.empty()) opt("--quantized", "policy.json");
  if (!o.split.mean.empty()) {
    opt("--mean", numbers(o.split.mean));
    opt("--std", numbers(o.split.std));
  }
  if (!o.test) a.push_back("--no-test");
  return a;
}

// Writes the shard (model, data as IDX files, teacher, policy) under `local` and pushes it to the device's run
// directory. Returns the bytes pushed. Checks on the host first that the model takes the data.
std::int64_t push_shard(const train::FinetuneOptions& o, const Device& dev, const std::string& local, double timeout,
                        data::Augment* aug) {
  const auto spec = data::parse_spec(o.data);
  torch::jit::Module model = ir::load_model(o.model);
  const data::SplitOptions split = for_model(o.split, model);
  data::ImageSet train_set = data::load_split(spec, data::Split::kTrain, split);
  if (o.train_limit > 0 && o.train_limit < train_set.size()) train_set = data::head(train_set, o.train_limit, train_set.name);
  checked_input(model, train_set, true);
  *aug = data::parse_augment(o.augment, spec, train_set.height);
  std::vector<std::pair<std::string, std::string>> files;  // local, relative to the device's run directory
  auto add = [&](const std::vector<std::string>& written, const std::string& dir) {
    for (const auto& f : written) files.push_back({f, dir + "/" + std::filesystem::path(f).filename().string()});
  };
  std::filesystem::create_directories(local + "/data");
  std::filesystem::create_directories(local + "/val");
  add(data::write_idx_pair(train_set, local + "/data", "train"), "data");
  const data::ImageSet val = data::load_split(spec, data::Split::kVal, split);
  add(data::write_idx_pair(val, local + "/val", "t10k"), "val");
  if (o.test) add(data::write_idx_pair(data::load_split(spec, data::Split::kTest, split), local + "/data", "t10k"), "data");
  files.push_back({o.model, "model.pt"});
  if (!o.teacher.empty()) files.push_back({o.teacher, "teacher.pt"});
  if (!o.quantized.empty()) files.push_back({o.quantized, "policy.json"});
  dev.mkdir(dev.path("data"));
  dev.mkdir(dev.path("val"));
  std::int64_t bytes = 0;
  for (const auto& [from, to] : files) bytes += dev.push(from, dev.path(to), timeout);
  spdlog::info("finetune: pushed the model and {} training, {} validation images to {} ({:.1f} MB)", train_set.size(),
               val.size(), dev.serial(), bytes / 1e6);
  std::filesystem::remove_all(local);  // the device holds it now
  return bytes;
}

// The xcel build that runs on the device: --device-binary pushed once per content (after checking its ABI), else the
// profile's training.binary, which must be there.
std::string device_binary(const train::FinetuneOptions& o, const device::TargetProfile& target, const Device& dev,
                          const std::string& abi, std::int64_t* pushed) {
  if (o.device_binary.empty()) {
    XCEL_CHECK(dev.exists(target.training.binary), ExitCode::kDevice,
               "device {} has no xcel build at {}: pass --device-binary FILE (xcel built for {}, see docs/DEVICE.md) "
               "or push one there", dev.serial(), target.training.binary, abi.empty() ? "its ABI" : abi);
    return target.training.binary;
  }
  XCEL_CHECK(fs::exists(o.device_binary), ExitCode::kUsage, "--device-binary '{}' not found", o.device_binary);
  const std::string built = device::elf_abi(o.device_binary);
  XCEL_CHECK(device::abi_runs(abi, built), ExitCode::kUsage,
             "--device-binary '{}' is {}, but device {} runs {}: build xcel for {} (docs/DEVICE.md)", o.device_binary,
             built.empty() ? "not an executable for Android (no ELF header of a known ABI)" : "built for " + built,
             dev.serial(), abi.empty() ? "an unknown ABI" : abi, abi.empty() ? "the device" : abi);
  const std::string dir = target.training.remote_dir + "/bin";
  const std::string remote = dir + "/xcel-" + latency::file_hash(o.device_binary);
  if (!dev.exists(remote)) {
    dev.mkdir(dir);
    *pushed += dev.push(o.device_binary, remote + ".part", target.training.timeout_seconds);
    const ProcessResult r = dev.shell("chmod 755 " + shell_quote(remote + ".part") + " && mv " +
                                      shell_quote(remote + ".part") + " " + shell_quote(remote));
    XCEL_CHECK(r.exit_code == 0, ExitCode::kDevice, "cannot make {} executable on {}: {}", remote, dev.serial(),
               device::first_line(r.err + r.out));
  }
  return remote;
}

// The last error line the device's xcel wrote ("xcel: error: ..."), without the prefix; "" when none.
std::string device_error(const std::string& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (line.rfind("xcel: error: ", 0) == 0) last = line.substr(13);
  return last;
}

std::string tail(const std::string& log, size_t bytes) {
  std::ifstream in(log, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

// Ctrl-C on the host: the device's xcel (its pid is in its run directory's lock) gets SIGINT, saves its checkpoint
// and exits; the host waits for that before it stops.
void stop_device_run(const Device& dev) {
  const ProcessResult lock = dev.shell("cat " + shell_quote(dev.path("run/.lock")));
  std::string pid;
  for (char c : lock.out)
    if (c >= '0' && c <= '9') pid += c;
  if (pid.empty()) return;
  dev.shell("kill -INT " + pid);
  for (int i = 0; i < 600; ++i) {
    if (dev.shell("kill -0 " + pid).exit_code != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  spdlog::warn("finetune: the run on {} did not stop within 2 minutes of SIGINT", dev.serial());
}

}  // namespace

nlohmann::json run_finetune_on_device(train::FinetuneOptions o, const RunDir& run, const device::TargetProfile& target) {
  const auto start = Clock::now();
  const device::SelectedDevice selected = device::select_device(target, o.serial);
  std::string abi;
  for (const auto& [k, v] : selected.props)
    if (k == "ro.product.cpu.abi") abi = v;
  const std::string command = "finetune";
  if (!o.resume) {
    o.serial = selected.serial;  // the run lives on this device: a resume goes back to it
    const std::string name = std::filesystem::path(std::filesystem::absolute(o.out_dir)).lexically_normal().filename().string();
    o.device_run = fmt::format("{}-{}", name.empty() ? "run" : name,
                               latency::bytes_hash(std::filesystem::absolute(o.out_dir).string() + o.model +
                                                   std::to_string(std::chrono::system_clock::now().time_since_epoch().count()))
                                   .substr(0, 8));
  }
  const Device dev(selected.serial, target.training.remote_dir + "/runs/" + o.device_run);
  std::int64_t pushed = 0;
  const std::string binary = device_binary(o, target, dev, abi, &pushed);
  if (!o.resume) {
    run.write_json(RunDir::kConfig, nlohmann::json(o));
    run.write_state({{"device_run", o.device_run}, {"serial", o.serial}, {"stage", "pushing"}});
  }

  // What the device has of the run decides what it does: finished (pull only), a checkpoint (--resume), or nothing
  // yet (push the shard and start).
  const std::string stage = run.read_state().value("stage", "pushing");
  const bool finished = o.resume && dev.exists(dev.path("run/summary.json"));
  const bool resumable = o.resume && !finished && stage == "training" && dev.exists(dev.path("run/checkpoint/state.json"));
  data::Augment aug;
  const auto push_start = Clock::now();
  if (!finished && !resumable) {  // a new run, or one cut before its first checkpoint on the device: (re)start it
    pushed += push_shard(o, dev, run.file("device-shard"), target.training.timeout_seconds, &aug);
    run.write_state({{"device_run", o.device_run}, {"serial", o.serial}, {"stage", "training"}});
  }
  const double push_seconds = since(push_start);

  const std::string log = run.file("device.log");
  const auto train_start = Clock::now();
  if (!finished) {
    const std::vector<std::string> args =
        resumable ? std::vector<std::string>{"finetune", "--resume", "--out", "run", "--json"} : device_arguments(o, aug);
    std::string shell = "cd " + shell_quote(dev.path("")) + " && OMP_NUM_THREADS=" + std::to_string(o.threads) + " ";
    if (!target.benchmark.taskset.empty()) shell += "taskset " + shell_quote(target.benchmark.taskset) + " ";
    shell += shell_quote(binary) + " " + quoted(args);
    spdlog::info("finetune: {} on {} ({}, {}); its log: {}", resumable ? "resuming" : "training", dev.serial(),
                 selected.props.empty() ? "?" : selected.props.front().second, abi, log);
    std::string err;
    const int rc = run_logged({"adb", "-s", dev.serial(), "shell", shell}, log, &err);
    XCEL_CHECK(rc >= 0, ExitCode::kDevice, "cannot run adb ({}); install Debian's adb package (scripts/setup.sh does)", err);
    if (stop_requested()) {
      stop_device_run(dev);
      run.interrupted(fmt::format("(the run on {} saved its checkpoint)", dev.serial()), command);
    }
    if (rc != 0) {
      const std::string said = device_error(log);
      const std::string last = tail(log, 2000);
      if (said.empty() && device::device_gone(last))
        XCEL_FAIL(ExitCode::kDevice, "device {} was disconnected during fine-tuning ({}); reconnect it and continue "
                  "with: xcel finetune --resume --out {} (the device keeps the run's checkpoint)", dev.serial(),
                  device::first_line(last.substr(last.rfind('\n', last.rfind("error")) + 1)),
                  o.out_dir);
      if (rc == static_cast<int>(ExitCode::kInterrupted))
        run.interrupted(fmt::format("on {} (the run there saved its checkpoint)", dev.serial()), command);
      if (!said.empty() && rc >= 2 && rc <= 8) {
        // The run ended there with its own error (a budget nothing meets, bad options): nothing to resume, so
        // neither side keeps it and the same --out can start again.
        dev.shell("rm -rf " + shell_quote(dev.path("")));
        std::filesystem::remove(run.file(RunDir::kState));
        throw Error(static_cast<ExitCode>(rc), fmt::format("on device {}: {}", dev.serial(), said));
      }
      XCEL_FAIL(ExitCode::kDevice, "fine-tuning on {} failed (exit {}): {}; see {}", dev.serial(), rc,
                said.empty() ? device::first_line(last) : said, log);
    }
  }
  const double train_seconds = since(train_start);

  const auto pull_start = Clock::now();
  const std::string device_summary = run.file("device-summary.json");
  dev.pull(dev.path("run/summary.json"), device_summary, target.training.timeout_seconds);
  dev.pull(dev.path("run/finetuned.pt"), run.file(RunDir::kFinetuned), target.training.timeout_seconds);
  dev.pull(dev.path("run/history.jsonl"), run.file(RunDir::kHistory), target.training.timeout_seconds);
  const double pull_seconds = since(pull_start);
  dev.shell("rm -rf " + shell_quote(dev.path("data")) + " " + shell_quote(dev.path("val")));  // the shard's images

  nlohmann::json s = fs::read_json(device_summary);
  // The returned model judged on this machine with the same validation images: the file came back whole and
  // computes what it computed on the device.
  torch::jit::Module best = ir::load_model(run.file(RunDir::kFinetuned));
  const auto spec = data::parse_spec(o.data);
  const data::TensorSet val = data::to_tensors(data::load_split(spec, data::Split::kVal, for_model(o.split, best)));
  s["host_val_top1"] = train::evaluate(best, val, o.eval_batch, true).top1;
  s["model"] = o.model;
  s["out"] = o.out_dir;
  s["finetuned"] = run.file(RunDir::kFinetuned);
  s["data"] = o.data;
  s["teacher"] = o.teacher;
  s["quantized"] = o.quantized;
  s["device"] = {{"target", target.name},
                 {"serial", dev.serial()},
                 {"model", selected.props.empty() ? "" : selected.props.front().second},
                 {"abi", abi},
                 {"binary", binary},
                 {"run_dir", dev.path("run")},
                 {"pushed_bytes", pushed},
                 {"push_seconds", push_seconds},
                 {"train_wall_seconds", train_seconds},
                 {"pull_seconds", pull_seconds},
                 {"wall_seconds", since(start)},
                 {"log", log}};
  run.write_state({{"device_run", o.device_run}, {"serial", o.serial}, {"stage", "done"}});
  run.write_json(RunDir::kSummary, s);
  return s;
}

}  // namespace xcel::jobs
