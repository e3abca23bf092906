// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#pragma once
/// splitmix64: a tiny, portable, seedable generator. xcel uses it wherever a result must be reproducible
/// across platforms and languages (the validation split, shuffling and augmentation in fine-tuning).
#include <cstddef>
#include <cstdint>

namespace xcel {

struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform integer in [0, n) (n > 0; the modulo bias is irrelevant for the small n used here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

/// FNV-1a 64 of `n` bytes, continuing from `h` (content hashes: cache keys, device-side file names).
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
inline std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/// A seed for stream `k` derived from `seed` (independent-looking streams for epochs, batches, ...).
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t k) {
  SplitMix64 g{seed ^ (0xD1B54A32D192ED03ULL * (k + 1))};
  return g.next();
}

}  // namespace xcel
