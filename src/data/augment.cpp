// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/data/augment.h"

#include <algorithm>

#include "xcel/core/error.h"
#include "xcel/core/random.h"

namespace xcel::data {

std::string Augment::str() const {
  if (!any()) return "none";
  std::string s = pad > 0 ? "crop" + std::to_string(pad) : "";
  if (flip) s += s.empty() ? "flip" : "+flip";
  return s;
}

Augment parse_augment(const std::string& spec, const DatasetSpec& data, std::int64_t height) {
  const int pad = height >= 32 ? 4 : 2;
  if (spec == "none") return {};
  if (spec == "crop") return {pad, false};
  if (spec == "flip") return {0, true};
  if (spec == "crop-flip") return {pad, true};
  XCEL_CHECK(spec == "auto", ExitCode::kUsage, "--augment '{}' is not one of auto, none, crop, flip, crop-flip", spec);
  const bool mirrorable = data.name == "fashion-mnist" || data.format == Format::kCifar10 ||
                          data.format == Format::kImageFolder;  // photographs: torchvision's usual flip
  return {pad, mirrorable};
}

void fill_batch(const ImageSet& set, const std::int64_t* indices, std::int64_t n, const Augment& aug,
                std::uint64_t seed, std::vector<float>& out) {
  const std::int64_t c = set.channels, h = set.height, w = set.width, bytes = set.image_bytes();
  // Per channel: value = pixel x scale + shift (pixel / 255, then the set's normalisation; padding is pixel 0).
  std::vector<float> scale(static_cast<size_t>(c), 1.0f / 255.0f), shift(static_cast<size_t>(c), 0.0f);
  for (size_t ch = 0; ch < static_cast<size_t>(c) && !set.mean.empty(); ++ch) {
    const double m = set.mean[set.mean.size() == 1 ? 0 : ch], sd = set.std[set.std.size() == 1 ? 0 : ch];
    scale[ch] = static_cast<float>(1.0 / (255.0 * sd));
    shift[ch] = static_cast<float>(-m / sd);
  }
  out.resize(static_cast<size_t>(n * bytes));
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t ch = 0; ch < c; ++ch)
      std::fill_n(out.begin() + (k * c + ch) * h * w, h * w, shift[static_cast<size_t>(ch)]);
  SplitMix64 rng{seed};
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t i = indices[k];
    XCEL_ASSERT(i >= 0 && i < set.size(), "image index {} out of range", i);
    const std::uint8_t* src = set.pixels.data() + i * bytes;
    float* dst = out.data() + k * bytes;
    // Output pixel (y, x) reads input (y + dy, x + dx); outside the image is padding (zero).
    std::int64_t dy = 0, dx = 0;
    if (aug.pad > 0) {
      dy = static_cast<std::int64_t>(rng.below(2 * aug.pad + 1)) - aug.pad;
      dx = static_cast<std::int64_t>(rng.below(2 * aug.pad + 1)) - aug.pad;
    }
    const bool flip = aug.flip && (rng.next() & 1);
    for (std::int64_t ch = 0; ch < c; ++ch) {
      for (std::int64_t y = 0; y < h; ++y) {
        const std::int64_t sy = y + dy;
        if (sy < 0 || sy >= h) continue;
        const std::uint8_t* row = src + (ch * h + sy) * w;
        float* orow = dst + (ch * h + y) * w;
        for (std::int64_t x = 0; x < w; ++x) {
          const std::int64_t sx = (flip ? w - 1 - x : x) + dx;
          if (sx >= 0 && sx < w) orow[x] = static_cast<float>(row[sx]) * scale[static_cast<size_t>(ch)] + shift[static_cast<size_t>(ch)];
        }
      }
    }
  }
}

}  // namespace xcel::data
