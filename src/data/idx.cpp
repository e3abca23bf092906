// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// IDX format (Fashion-MNIST, MNIST): big-endian u32 magic (0x803 images, 0x801 labels), u32 dims, bytes.
#include <zlib.h>

#include <algorithm>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/data/dataset.h"

namespace xcel::data {
namespace {

std::uint32_t be32(const std::vector<std::uint8_t>& b, size_t off) {
  return (std::uint32_t{b[off]} << 24) | (std::uint32_t{b[off + 1]} << 16) | (std::uint32_t{b[off + 2]} << 8) |
         std::uint32_t{b[off + 3]};
}

}  // namespace

std::vector<std::uint8_t> read_maybe_gz(const std::string& path) {
  XCEL_CHECK(fs::exists(path), ExitCode::kInput, "data file '{}' not found; check --data", path);
  gzFile f = gzopen(path.c_str(), "rb");
  XCEL_CHECK(f != nullptr, ExitCode::kInput, "cannot open data file '{}'", path);
  std::vector<std::uint8_t> out;
  std::vector<std::uint8_t> buf(1 << 20);
  for (;;) {
    int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int errnum = 0;
      std::string msg = gzerror(f, &errnum);
      gzclose(f);
      XCEL_FAIL(ExitCode::kInput, "data file '{}' is corrupt ({}); restore it from its source", path, msg);
    }
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  int errnum = 0;
  std::string msg = gzerror(f, &errnum);
  gzclose(f);
  XCEL_CHECK(errnum == Z_OK || errnum == Z_STREAM_END, ExitCode::kInput,
             "data file '{}' is truncated or corrupt ({}); restore it from its source", path, msg);
  return out;
}

ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  auto img = read_maybe_gz(images_path);
  auto lab = read_maybe_gz(labels_path);
  XCEL_CHECK(img.size() >= 16, ExitCode::kInput, "IDX file '{}' is too short ({} bytes) to hold a header",
             images_path, img.size());
  XCEL_CHECK(be32(img, 0) == 0x803, ExitCode::kInput,
             "'{}' is not an IDX image file (magic {:#x}, expected 0x803)", images_path, be32(img, 0));
  XCEL_CHECK(lab.size() >= 8, ExitCode::kInput, "IDX file '{}' is too short ({} bytes) to hold a header",
             labels_path, lab.size());
  XCEL_CHECK(be32(lab, 0) == 0x801, ExitCode::kInput,
             "'{}' is not an IDX label file (magic {:#x}, expected 0x801)", labels_path, be32(lab, 0));
  std::uint64_t n = be32(img, 4), h = be32(img, 8), w = be32(img, 12);
  std::uint64_t expect = 16 + n * h * w;
  XCEL_CHECK(img.size() == expect, ExitCode::kInput,
             "IDX file '{}' holds {} bytes but its header promises {} images of {}x{} ({} bytes): truncated or "
             "corrupt",
             images_path, img.size(), n, h, w, expect);
  std::uint64_t nl = be32(lab, 4);
  XCEL_CHECK(lab.size() == 8 + nl, ExitCode::kInput,
             "IDX file '{}' holds {} bytes but its header promises {} labels: truncated or corrupt", labels_path,
             lab.size(), nl);
  XCEL_CHECK(nl == n, ExitCode::kInput, "'{}' has {} images but '{}' has {} labels", images_path, n, labels_path,
             nl);
  ImageSet set;
  set.channels = 1;
  set.height = static_cast<std::int64_t>(h);
  set.width = static_cast<std::int64_t>(w);
  set.pixels.assign(img.begin() + 16, img.end());
  set.labels.assign(lab.begin() + 8, lab.end());
  set.num_classes = n == 0 ? 0 : *std::max_element(set.labels.begin(), set.labels.end()) + 1;
  return set;
}

}  // namespace xcel::data
