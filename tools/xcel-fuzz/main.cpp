// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// xcel-fuzz: a seeded mutational fuzzer for xcel's parsers of outside input. Each iteration takes a valid input of
// one parser (IDX images and labels, CIFAR-10 records, policy, target profile and agent-config JSON, the phone
// benchmark's output), mutates it (bit flips, random bytes, inserted, deleted and repeated runs, truncation,
// extreme numbers in JSON) and hands it to the parser, which must return or throw xcel::Error: any other
// exception is a failure (exit 1, the input saved), and a crash or a sanitizer report ends the process. The run is
// a function of --seed: `xcel-fuzz --seed S --iterations N` repeats it exactly.
//   xcel-fuzz [--seed S] [--seconds T | --iterations N] [--work DIR]
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "xcel/core/error.h"
#include "xcel/data/dataset.h"
#include "xcel/device/target.h"
#include "xcel/latency/oracle.h"
#include "xcel/prune/policy.h"
#include "xcel/rl/ddpg.h"

namespace {

using Bytes = std::string;

void write(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary) << b;
}

Bytes be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// ---- valid inputs -----------------------------------------------------------------------------------------------

Bytes idx_images(int n, int h, int w) {
  Bytes b = be32(0x803) + be32(static_cast<std::uint32_t>(n)) + be32(static_cast<std::uint32_t>(h)) +
            be32(static_cast<std::uint32_t>(w));
  for (int i = 0; i < n * h * w; ++i) b.push_back(static_cast<char>(i * 37));
  return b;
}

Bytes idx_labels(int n) {
  Bytes b = be32(0x801) + be32(static_cast<std::uint32_t>(n));
  for (int i = 0; i < n; ++i) b.push_back(static_cast<char>(i % 10));
  return b;
}

Bytes cifar_records(int n) {
  Bytes b;
  for (int i = 0; i < n; ++i) {
    b.push_back(static_cast<char>(i % 10));
    for (int k = 0; k < 3072; ++k) b.push_back(static_cast<char>(k + i));
  }
  return b;
}

const char* kPolicy = R"({"groups": {"conv1": 0.5, "conv2": {"kept": 8}}})";
const char* kTarget = R"({"name": "fuzz", "description": "fuzzed", "kind": "android", "round_to": 4, "threads": 1,
 "device_match": {"ro.product.model": ["Pixel"]},
 "benchmark": {"binary": "/data/local/tmp/speed_benchmark_torch", "format": "speed_benchmark_torch", "warmup": 10,
  "iter": 50, "taskset": "c", "remote_dir": "/data/local/tmp/xcel", "timeout_seconds": 120, "retries": 2},
 "roofline": {"cores": 2, "clock_ghz": 2.15, "gflops_per_core": 17.2, "memory_gbs": 29.9, "source": "fuzz"}})";
const char* kAgent = R"({"hidden1": 300, "hidden2": 300, "lr_actor": 0.0001, "lr_critic": 0.001, "tau": 0.01,
 "discount": 1.0, "batch": 64, "replay": 2000, "warmup": 100, "noise_sigma": 0.5, "noise_decay": 0.95,
 "lbound": 0.2, "rbound": 1.0})";
const char* kBenchmark =
    "Starting benchmark.\nRunning warmup runs.\nMain runs.\n"
    "PyTorchObserver {\"type\": \"NET\", \"unit\": \"us\", \"metric\": \"latency\", \"value\": \"1234.5\"}\n"
    "PyTorchObserver {\"type\": \"NET\", \"unit\": \"us\", \"metric\": \"latency\", \"value\": \"1301.0\"}\n"
    "Main run finished. Microseconds per iter: 1267.750. Iters per second: 788.8\n";

// ---- mutations ---------------------------------------------------------------------------------------------------

Bytes mutate(Bytes b, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  static const char* const kExtreme[] = {"-1", "0", "1e308", "-1e308", "nan", "1e-320", "4294967296", "\"\"", "null",
                                         "[]", "{}", "true", "9223372036854775807", "-0", "\"x\""};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 8) {
      case 0:  // flip a bit
        if (!b.empty()) b[pick(b.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // a random byte
        if (!b.empty()) b[pick(b.size())] = static_cast<char>(rng());
        break;
      case 2: {  // insert random bytes
        Bytes r(1 + pick(16), '\0');
        for (char& c : r) c = static_cast<char>(rng());
        b.insert(pick(b.size() + 1), r);
        break;
      }
      case 3: {  // delete a run
        const std::size_t at = pick(b.size() + 1);
        b.erase(at, std::min<std::size_t>(1 + pick(64), b.size() - at));
        break;
      }
      case 4: {  // repeat a run
        const std::size_t at = pick(b.size() + 1), n = std::min<std::size_t>(1 + pick(64), b.size() - at);
        b.insert(at, b.substr(at, n));
        break;
      }
      case 5:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      case 6: {  // an extreme 32-bit big-endian field in a header
        if (b.size() >= 16) {
          static const std::uint32_t kValues[] = {0, 1, 0x7fffffff, 0xffffffff, 0x10000, 0x803, 0x801};
          const Bytes v = be32(kValues[pick(7)]);
          b.replace(4 * pick(4), 4, v);
        }
        break;
      }
      default: {  // a JSON value replaced by an extreme one
        std::size_t at = b.find_first_of("0123456789\"[{tfn-", pick(b.size() + 1));
        if (at == Bytes::npos) break;
        std::size_t end = b.find_first_of(",}]\n", at);
        if (end == Bytes::npos) end = b.size();
        b.replace(at, end - at, kExtreme[pick(sizeof kExtreme / sizeof *kExtreme)]);
        break;
      }
    }
  }
  return b;
}

// ---- targets -----------------------------------------------------------------------------------------------------

struct Target {
  const char* name;
  std::vector<Bytes> seeds;
  std::function<void(const Bytes&)> run;
  long iterations = 0, rejected = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seed = 1;
  double seconds = 30;
  long iterations = -1;
  std::string work = std::filesystem::temp_directory_path().string() + "/xcel-fuzz-" + std::to_string(::getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--iterations") iterations = std::atol(argv[i + 1]);
    else if (a == "--work") work = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: xcel-fuzz [--seed S] [--seconds T | --iterations N] [--work DIR]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(work + "/targets");
  ::setenv("XCEL_CONFIG_DIR", work.c_str(), 1);
  const std::string images = work + "/images", labels = work + "/labels", file = work + "/input",
                    target = work + "/targets/fuzz.json";
  Bytes last_images = idx_images(3, 4, 4);
  std::vector<Target> targets;
  targets.push_back({"idx images", {idx_images(3, 4, 4), idx_images(1, 28, 28)}, [&](const Bytes& b) {
                       write(images, b);
                       write(labels, idx_labels(3));
                       xcel::data::read_idx_pair(images, labels);
                     }});
  targets.push_back({"idx labels", {idx_labels(3), idx_labels(1)}, [&](const Bytes& b) {
                       write(images, idx_images(3, 4, 4));
                       write(labels, b);
                       xcel::data::read_idx_pair(images, labels);
                     }});
  targets.push_back({"cifar-10 records", {cifar_records(2)}, [&](const Bytes& b) {
                       write(file, b);
                       xcel::data::read_cifar10_batches({file});
                     }});
  targets.push_back({"policy json", {kPolicy, R"({"conv1": 0.25})"}, [&](const Bytes& b) {
                       write(file, b);
                       xcel::prune::read_policy(file);
                     }});
  targets.push_back({"target profile", {kTarget}, [&](const Bytes& b) {
                       write(target, b);
                       xcel::device::load_target("fuzz");
                     }});
  targets.push_back({"agent config", {kAgent, "{}"}, [&](const Bytes& b) {
                       write(file, b);
                       xcel::rl::read_ddpg_config(file);
                     }});
  targets.push_back({"benchmark output", {kBenchmark, "Microseconds per iter: 12.5\n"},
                     [&](const Bytes& b) { xcel::latency::parse_speed_benchmark_torch(b); }});

  std::mt19937_64 rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  long n = 0;
  for (;; ++n) {
    if (iterations >= 0 ? n >= iterations
                        : std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= seconds)
      break;
    Target& t = targets[rng() % targets.size()];
    const Bytes input = mutate(t.seeds[rng() % t.seeds.size()], rng);
    ++t.iterations;
    try {
      t.run(input);
    } catch (const xcel::Error&) {
      ++t.rejected;  // the documented way to refuse bad input
    } catch (const std::exception& e) {
      const std::string saved = work + "/failure.bin";
      write(saved, input);
      std::fprintf(stderr, "xcel-fuzz: %s: not an xcel::Error after iteration %ld (--seed %llu): %s; input saved to %s\n",
                   t.name, n, static_cast<unsigned long long>(seed), e.what(), saved.c_str());
      return 1;
    }
  }
  std::printf("xcel-fuzz: seed %llu, %ld inputs in %.1f s, no crash:\n", static_cast<unsigned long long>(seed), n,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  for (const auto& t : targets)
    std::printf("  %-18s %7ld inputs, %7ld refused with an xcel error\n", t.name, t.iterations, t.rejected);
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  return 0;
}
