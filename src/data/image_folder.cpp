// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Image folders in torchvision's ImageFolder layout, decoded with stb (Debian's libstb), cached decoded.
#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/data/dataset.h"

namespace xcel::data {

namespace {

namespace sfs = std::filesystem;

bool is_image(const sfs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

struct File {
  std::string path;
  std::int64_t label = 0;
};

// FNV-1a 64 over the listing and the options: the cache key of a decoded folder.
std::uint64_t fnv(std::uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string cache_path(const std::vector<File>& files, const ImageFolderOptions& o) {
  const std::string dir = fs::cache_dir("data");
  if (dir.empty()) return "";
  std::uint64_t h = fnv(14695981039346656037ULL, fmt::format("v1 {} {} {}", o.size, o.resize, o.channels));
  for (const auto& c : o.classes) h = fnv(h, c + "\n");
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = sfs::file_size(f.path, ec);
    const auto time = sfs::last_write_time(f.path, ec).time_since_epoch().count();
    h = fnv(h, fmt::format("{}\t{}\t{}\t{}\n", sfs::absolute(f.path).string(), size, time, f.label));
  }
  return fmt::format("{}/imagefolder-{:016x}.bin", dir, h);
}

constexpr char kMagic[8] = {'X', 'C', 'E', 'L', 'I', 'M', 'G', '1'};

bool read_cache(const std::string& path, ImageSet& set) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  char magic[8];
  std::int64_t head[5];  // n, c, h, w, classes
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (!in || std::memcmp(magic, kMagic, 8) != 0) return false;
  set.channels = head[1], set.height = head[2], set.width = head[3], set.num_classes = head[4];
  set.labels.resize(static_cast<size_t>(head[0]));
  set.pixels.resize(static_cast<size_t>(head[0] * head[1] * head[2] * head[3]));
  in.read(reinterpret_cast<char*>(set.labels.data()), static_cast<std::streamsize>(set.labels.size() * sizeof(std::int64_t)));
  in.read(reinterpret_cast<char*>(set.pixels.data()), static_cast<std::streamsize>(set.pixels.size()));
  return static_cast<bool>(in);
}

void write_cache(const std::string& path, const ImageSet& set) {
  std::error_code ec;
  sfs::create_directories(sfs::path(path).parent_path(), ec);
  std::string bytes(kMagic, 8);
  const std::int64_t head[5] = {set.size(), set.channels, set.height, set.width, set.num_classes};
  bytes.append(reinterpret_cast<const char*>(head), sizeof head);
  bytes.append(reinterpret_cast<const char*>(set.labels.data()), set.labels.size() * sizeof(std::int64_t));
  bytes.append(reinterpret_cast<const char*>(set.pixels.data()), set.pixels.size());
  try {
    fs::write_file_atomic(path, bytes);
  } catch (const Error& e) {
    spdlog::warn("decoded images not cached: {}", e.what());
  }
}

// Decodes one file into `out` (channels x size x size): shorter side to `resize`, centre crop. Returns an error
// text, empty on success.
std::string decode(const std::string& path, const ImageFolderOptions& o, std::uint8_t* out) {
  int w = 0, h = 0, c = 0;
  const int want = static_cast<int>(o.channels);
  stbi_uc* img = stbi_load(path.c_str(), &w, &h, &c, want);
  if (img == nullptr) return stbi_failure_reason() != nullptr ? stbi_failure_reason() : "unreadable";
  std::unique_ptr<stbi_uc, void (*)(void*)> owner(img, stbi_image_free);
  const double scale = static_cast<double>(o.resize) / std::min(w, h);
  const int rw = std::max<int>(static_cast<int>(o.size), static_cast<int>(std::lround(w * scale)));
  const int rh = std::max<int>(static_cast<int>(o.size), static_cast<int>(std::lround(h * scale)));
  std::vector<stbi_uc> resized;
  const stbi_uc* src = img;
  if (rw != w || rh != h) {
    resized.resize(static_cast<size_t>(rw) * rh * want);
    if (stbir_resize_uint8(img, w, h, 0, resized.data(), rw, rh, 0, want) == 0) return "resize failed";
    src = resized.data();
  }
  const int x0 = (rw - static_cast<int>(o.size)) / 2, y0 = (rh - static_cast<int>(o.size)) / 2;
  const auto n = static_cast<size_t>(o.size);
  for (size_t y = 0; y < n; ++y)
    for (size_t x = 0; x < n; ++x)
      for (size_t ch = 0; ch < static_cast<size_t>(want); ++ch)  // HWC -> CHW
        out[(ch * n + y) * n + x] = src[((y + y0) * static_cast<size_t>(rw) + x + x0) * want + ch];
  return "";
}

ImageSet decode_all(const std::string& dir, const std::vector<File>& files, const ImageFolderOptions& o, ImageSet set);

}  // namespace

std::vector<std::string> class_folders(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : sfs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string()[0] != '.') out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

ImageSet read_image_folder(const std::string& dir, const ImageFolderOptions& o) {
  XCEL_CHECK(fs::is_directory(dir), ExitCode::kInput, "image folder '{}' not found", dir);
  XCEL_CHECK(o.channels == 1 || o.channels == 3, ExitCode::kUsage, "images must be grey (1 channel) or RGB (3), not {}",
             o.channels);
  const std::vector<std::string> found = class_folders(dir);
  XCEL_CHECK(!found.empty(), ExitCode::kInput,
             "no class folders in '{}': expected {}/CLASS/IMAGE.jpg (torchvision's ImageFolder layout)", dir, dir);
  ImageSet set;
  set.classes = o.classes.empty() ? found : o.classes;
  std::vector<File> files;
  for (const auto& cls : found) {
    const auto it = std::find(set.classes.begin(), set.classes.end(), cls);
    XCEL_CHECK(it != set.classes.end(), ExitCode::kInput,
               "class folder '{}/{}' is not a class of the training images ({} classes); remove it or rename it", dir,
               cls, set.classes.size());
    std::vector<std::string> paths;
    for (const auto& e : sfs::recursive_directory_iterator(sfs::path(dir) / cls))
      if (e.is_regular_file() && is_image(e.path())) paths.push_back(e.path().string());
    XCEL_CHECK(!paths.empty(), ExitCode::kInput, "class folder '{}/{}' holds no images (.jpg .jpeg .png .bmp)", dir, cls);
    std::sort(paths.begin(), paths.end());
    for (auto& p : paths) files.push_back({std::move(p), it - set.classes.begin()});
  }
  // Without a size, the first image's shorter side (a folder of equal images is then read as it is).
  ImageFolderOptions opts = o;
  for (size_t i = 0; opts.size <= 0 && i < files.size(); ++i) {
    int w = 0, h = 0, c = 0;
    if (stbi_info(files[i].path.c_str(), &w, &h, &c) != 0) opts.size = std::min(w, h);
  }
  XCEL_CHECK(opts.size > 0, ExitCode::kInput, "no image in '{}' can be read (first: '{}')", dir, files.front().path);
  if (opts.resize <= 0) opts.resize = opts.size;
  XCEL_CHECK(opts.resize >= opts.size, ExitCode::kUsage,
             "--image-size {} and --resize {}: the resize must be at least the crop", opts.size, opts.resize);
  return decode_all(dir, files, opts, std::move(set));
}

namespace {

ImageSet decode_all(const std::string& dir, const std::vector<File>& files, const ImageFolderOptions& o, ImageSet set) {
  set.num_classes = static_cast<std::int64_t>(set.classes.size());
  set.channels = o.channels;
  set.height = set.width = o.size;
  const std::string cached = cache_path(files, o);
  if (!cached.empty() && read_cache(cached, set)) {
    spdlog::debug("{} images of {} from the decoded cache {}", set.size(), dir, cached);
    return set;
  }
  // Decoded in parallel, each file into its own slot.
  const size_t bytes = static_cast<size_t>(set.image_bytes());
  std::vector<std::uint8_t> pixels(files.size() * bytes);
  std::vector<std::string> errors(files.size());
  std::atomic<size_t> next{0};
  const unsigned workers = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < workers; ++t)
    pool.emplace_back([&] {
      for (size_t i = next++; i < files.size(); i = next++) errors[i] = decode(files[i].path, o, pixels.data() + i * bytes);
    });
  for (auto& t : pool) t.join();
  size_t bad = 0;
  std::string first_bad;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!errors[i].empty()) {
      if (bad++ == 0) first_bad = fmt::format("'{}' ({})", files[i].path, errors[i]);
      continue;
    }
    set.labels.push_back(files[i].label);
    set.pixels.insert(set.pixels.end(), pixels.begin() + static_cast<std::ptrdiff_t>(i * bytes),
                      pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * bytes));
  }
  XCEL_CHECK(bad == 0 || o.skip_bad, ExitCode::kInput,
             "cannot decode {}{}; remove it or pass --skip-bad-images", first_bad,
             bad > 1 ? fmt::format(" and {} more images", bad - 1) : "");
  if (bad > 0) spdlog::warn("skipped {} undecodable images of {}, the first {}", bad, dir, first_bad);
  XCEL_CHECK(set.size() > 0, ExitCode::kInput, "no decodable images in '{}'", dir);
  if (!cached.empty() && bad == 0) write_cache(cached, set);
  return set;
}

}  // namespace

}  // namespace xcel::data
