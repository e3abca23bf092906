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
  // Unsigned bytes in 3 dimensions (N x H x W, one channel) or 4 (N x C x H x W, as xcel writes colour images).
  const std::uint32_t magic = be32(img, 0);
  XCEL_CHECK(magic == 0x803 || magic == 0x804, ExitCode::kInput,
             "'{}' is not an IDX image file (magic {:#x}, expected 0x803 or 0x804)", images_path, magic);
  const size_t header = magic == 0x804 ? 20 : 16;
  XCEL_CHECK(img.size() >= header, ExitCode::kInput, "IDX file '{}' is too short ({} bytes) to hold a header",
             images_path, img.size());
  XCEL_CHECK(lab.size() >= 8, ExitCode::kInput, "IDX file '{}' is too short ({} bytes) to hold a header",
             labels_path, lab.size());
  // Labels: unsigned bytes (0x801), or big-endian 32-bit integers (0xc01) for more than 256 classes.
  const std::uint32_t lmagic = be32(lab, 0);
  XCEL_CHECK(lmagic == 0x801 || lmagic == 0xc01, ExitCode::kInput,
             "'{}' is not an IDX label file (magic {:#x}, expected 0x801 or 0xc01)", labels_path, lmagic);
  std::uint64_t n = be32(img, 4), c = magic == 0x804 ? be32(img, 8) : 1;
  std::uint64_t h = be32(img, header - 8), w = be32(img, header - 4);
  std::uint64_t expect = header + n * c * h * w;
  XCEL_CHECK(img.size() == expect, ExitCode::kInput,
             "IDX file '{}' holds {} bytes but its header promises {} images of {}x{}x{} ({} bytes): truncated or "
             "corrupt",
             images_path, img.size(), n, c, h, w, expect);
  const std::uint64_t nl = be32(lab, 4), label_bytes = lmagic == 0xc01 ? 4 : 1;
  XCEL_CHECK(lab.size() == 8 + nl * label_bytes, ExitCode::kInput,
             "IDX file '{}' holds {} bytes but its header promises {} labels: truncated or corrupt", labels_path,
             lab.size(), nl);
  XCEL_CHECK(nl == n, ExitCode::kInput, "'{}' has {} images but '{}' has {} labels", images_path, n, labels_path,
             nl);
  ImageSet set;
  set.channels = static_cast<std::int64_t>(c);
  set.height = static_cast<std::int64_t>(h);
  set.width = static_cast<std::int64_t>(w);
  set.pixels.assign(img.begin() + static_cast<std::ptrdiff_t>(header), img.end());
  set.labels.resize(n);
  for (std::uint64_t i = 0; i < n; ++i)
    set.labels[i] = label_bytes == 4 ? static_cast<std::int32_t>(be32(lab, 8 + 4 * i)) : lab[8 + i];
  set.num_classes = n == 0 ? 0 : *std::max_element(set.labels.begin(), set.labels.end()) + 1;
  return set;
}

namespace {

void put32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// `bytes` gzip-compressed into `path` (written atomically, as every file xcel writes).
void write_gz(const std::string& path, const std::string& bytes) {
  z_stream z{};
  XCEL_CHECK(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, ExitCode::kInternal,
             "zlib could not start compressing '{}'", path);
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  XCEL_CHECK(rc == Z_STREAM_END, ExitCode::kInternal, "zlib could not compress '{}' (code {})", path, rc);
  fs::write_file_atomic(path, out);
}

}  // namespace

std::vector<std::string> write_idx_pair(const ImageSet& set, const std::string& dir, const std::string& prefix) {
  std::string img;
  const bool colour = set.channels != 1;
  put32(img, colour ? 0x804 : 0x803);
  put32(img, static_cast<std::uint32_t>(set.size()));
  if (colour) put32(img, static_cast<std::uint32_t>(set.channels));
  put32(img, static_cast<std::uint32_t>(set.height));
  put32(img, static_cast<std::uint32_t>(set.width));
  img.append(set.pixels.begin(), set.pixels.end());
  const bool wide = set.num_classes > 256 ||
                    std::any_of(set.labels.begin(), set.labels.end(), [](std::int64_t l) { return l > 255; });
  std::string lab;
  put32(lab, wide ? 0xc01 : 0x801);
  put32(lab, static_cast<std::uint32_t>(set.size()));
  for (std::int64_t l : set.labels) {
    if (wide) {
      put32(lab, static_cast<std::uint32_t>(l));
    } else {
      lab.push_back(static_cast<char>(l));
    }
  }
  const std::string images = dir + "/" + prefix + (colour ? "-images-idx4-ubyte.gz" : "-images-idx3-ubyte.gz");
  const std::string labels = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  write_gz(images, img);
  write_gz(labels, lab);
  return {images, labels};
}

}  // namespace xcel::data
