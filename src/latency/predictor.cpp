// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
// Fitted latency predictors: measured layers fill a lookup table (signature -> median ms); a signature not in
// it is predicted from the measured layers of its class (same kernel, stride, input size and group width, other
// channel counts) by a least-squares fit in the channel counts when it lies within their widths, else by an MLP
// that learns log-latency from layer features; and a least-squares fit maps [sum of conv/linear
// times, sum of batch-norm times, activation elements, 1] to the whole model's measured latency. Variants held
// out of the fit (and of the table) measure the predictor's accuracy. The variants themselves are built and
// measured by the `latency fit` job.
#include "xcel/latency/predictor.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "xcel/core/error.h"
#include "xcel/core/fs.h"
#include "xcel/core/log.h"
#include "xcel/core/random.h"
#include "xcel/latency/profile.h"

namespace xcel::latency {
namespace {

constexpr int kFeatures = 9;

// Layer features for the regressor (log scales where sizes vary by orders of magnitude).
std::vector<float> features(const ir::Layer& l) {
  const double hw = l.input_shape.size() == 4 ? static_cast<double>(l.input_shape[2] * l.input_shape[3]) : 1.0;
  const double k = l.kernel.empty() ? 1.0 : static_cast<double>(l.kernel[0]);
  const double stride = l.stride.empty() ? 1.0 : static_cast<double>(l.stride[0]);
  return {l.kind == ir::LayerKind::kConv ? 1.f : 0.f,
          l.kind == ir::LayerKind::kLinear ? 1.f : 0.f,
          l.kind == ir::LayerKind::kBatchNorm ? 1.f : 0.f,
          static_cast<float>(std::log1p(static_cast<double>(l.in_channels))),
          static_cast<float>(std::log1p(static_cast<double>(l.out_channels))),
          static_cast<float>(k / 3.0),
          static_cast<float>(stride),
          l.depthwise() ? 1.f : 0.f,
          static_cast<float>(std::log1p(static_cast<double>(l.flops)) / 10.0 + std::log(hw) / 10.0)};
}

// Layers that differ only in their channel counts share a class: a convolution's kernel, stride, input size and
// group width (depthwise, plain, or channels per group), a linear layer, a batch norm's input size.
std::string class_key(const ir::Layer& l) {
  const std::string in = l.input_shape.size() == 4 ? fmt::format(" in{}x{}", l.input_shape[2], l.input_shape[3]) : "";
  switch (l.kind) {
    case ir::LayerKind::kConv: {
      const std::string g = l.depthwise() ? "dw" : l.groups == 1 ? "g1" : fmt::format("gw{}", l.in_channels / l.groups);
      return fmt::format("conv k{}x{} s{} {}{}", l.kernel.size() > 0 ? l.kernel[0] : 1, l.kernel.size() > 1 ? l.kernel[1] : 1,
                         l.stride.empty() ? 1 : l.stride[0], g, in);
    }
    case ir::LayerKind::kLinear:
      return "linear";
    case ir::LayerKind::kBatchNorm:
      return "batchnorm" + in;
  }
  return "?";
}

// Whether a class's cost follows one channel count (depthwise and grouped convs, batch norm) or two.
bool one_width(const ir::Layer& l) {
  return l.kind == ir::LayerKind::kBatchNorm || (l.kind == ir::LayerKind::kConv && l.groups > 1);
}

std::vector<double> class_terms(const ir::Layer& l) {
  const double ci = static_cast<double>(l.in_channels), co = static_cast<double>(l.out_channels);
  if (one_width(l)) return {1.0, co};
  return {1.0, ci, co, ci * co};
}

struct Mlp : torch::nn::Module {
  torch::nn::Linear a{nullptr}, b{nullptr}, c{nullptr};
  Mlp() {
    a = register_module("a", torch::nn::Linear(kFeatures, 64));
    b = register_module("b", torch::nn::Linear(64, 64));
    c = register_module("c", torch::nn::Linear(64, 1));
  }
  at::Tensor forward(at::Tensor x) { return c(torch::relu(b(torch::relu(a(x))))); }
};

// Pruned variants of one model keep its layer names: they identify the family whose overheads are alike.
std::string family_key(const ir::ModelSummary& s) {
  std::uint64_t h = kFnvOffset;
  for (const auto& l : s.layers) {
    const std::string part = l.name + "|";
    h = fnv1a64(part.data(), part.size(), h);
  }
  return fmt::format("{:016x}", h);
}

double activation_millions(const ir::ModelSummary& s) {
  double e = 0;
  for (const auto& l : s.layers)
    if (l.kind == ir::LayerKind::kConv) e += static_cast<double>(ir::numel(l.output_shape));
  return e / 1e6;
}

nlohmann::json tensor_json(const at::Tensor& t) {
  at::Tensor c = t.contiguous().to(torch::kFloat64);
  return {{"shape", t.sizes().vec()},
          {"data", std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel())}};
}

at::Tensor tensor_from(const nlohmann::json& j) {
  auto data = j.at("data").get<std::vector<double>>();
  return torch::tensor(data, torch::kFloat64).reshape(j.at("shape").get<std::vector<std::int64_t>>()).to(torch::kFloat32);
}

}  // namespace

struct Predictor::Impl {
  std::string target;
  int threads = 1;
  std::map<std::string, double> lut;
  std::vector<double> coef;  // conv/linear sum, batch-norm sum, activation elements (M), 1
  std::map<std::string, std::vector<double>> family_coef;  // per model family (same layer names), when fitted
  Mlp mlp;
  float mean_log = 0;
  std::vector<float> feature_min, feature_max;  // of the fitted layers (empty in files from before they were kept)

  // Whether a layer's features lie within those of the layers the predictor was fitted on.
  bool inside(const ir::Layer& l) const {
    if (feature_min.size() != static_cast<size_t>(kFeatures)) return true;
    const auto f = features(l);
    for (int i = 0; i < kFeatures; ++i) {
      const float margin = 0.05f * std::max(1.f, feature_max[i] - feature_min[i]);
      if (f[i] < feature_min[i] - margin || f[i] > feature_max[i] + margin) return false;
    }
    return true;
  }

  // Per class of layers (see class_key): least-squares coefficients of class_terms and the channel range fitted.
  struct ClassFit {
    std::vector<double> coef;
    std::int64_t in_lo = 0, in_hi = 0, out_lo = 0, out_hi = 0;
    double predict(const ir::Layer& l) const {
      const auto t = class_terms(l);
      double y = 0;
      for (size_t i = 0; i < t.size(); ++i) y += coef[i] * t[i];
      return y;
    }
  };
  std::map<std::string, ClassFit> classes;

  // A layer between measured widths of its class: the class's fit; outside them (or in no class): the MLP.
  const ClassFit* class_fit(const ir::Layer& l) const {
    auto it = classes.find(class_key(l));
    if (it == classes.end()) return nullptr;
    const ClassFit& c = it->second;
    const bool inside = l.in_channels >= c.in_lo && l.in_channels <= c.in_hi && l.out_channels >= c.out_lo &&
                        l.out_channels <= c.out_hi;
    return inside ? &c : nullptr;
  }

  double layer_ms(const ir::Layer& l, int* regressed) const {
    auto it = lut.find(layer_signature(l));
    if (it != lut.end()) return it->second;
    if (const ClassFit* c = class_fit(l)) {
      const double y = c->predict(l);
      if (y > 0) return y;
    }
    if (regressed) ++*regressed;
    torch::NoGradGuard no_grad;
    auto f = features(l);
    at::Tensor x = torch::tensor(f).reshape({1, kFeatures});
    return std::exp(const_cast<Mlp&>(mlp).forward(x).item<double>() + mean_log);
  }

  std::vector<double> design(const ir::ModelSummary& s, int* regressed) const {
    double convs = 0, bns = 0;
    for (const auto& l : s.layers) (l.kind == ir::LayerKind::kBatchNorm ? bns : convs) += layer_ms(l, regressed);
    return {convs, bns, activation_millions(s), 1.0};
  }

  double predict(const ir::ModelSummary& s, int* regressed) const {
    const auto x = design(s, regressed);
    auto fam = family_coef.find(family_key(s));
    const auto& c = fam != family_coef.end() ? fam->second : coef;
    double y = 0;
    for (size_t i = 0; i < x.size(); ++i) y += c[i] * x[i];
    return std::max(y, 1e-6);
  }
};

Predictor::Predictor(const std::string& path) : impl_(std::make_unique<Impl>()) {
  std::ifstream in(path);
  XCEL_CHECK(in.good(), ExitCode::kInput, "latency predictor '{}' not found; make one with xcel latency fit --out {}",
             path, path);
  try {
    auto j = nlohmann::json::parse(in);
    impl_->target = j.at("target");
    impl_->threads = j.at("threads");
    impl_->lut = j.at("lut").get<std::map<std::string, double>>();
    impl_->coef = j.at("coef").get<std::vector<double>>();
    impl_->family_coef = j.value("family_coef", std::map<std::string, std::vector<double>>{});
    impl_->mean_log = j.at("mlp").at("mean_log");
    impl_->feature_min = j.value("feature_min", std::vector<float>{});
    impl_->feature_max = j.value("feature_max", std::vector<float>{});
    const nlohmann::json classes = j.value("classes", nlohmann::json::object());
    for (const auto& [key, c] : classes.items())
      impl_->classes[key] = {c.at("coef").get<std::vector<double>>(), c.at("in")[0], c.at("in")[1], c.at("out")[0],
                             c.at("out")[1]};
    torch::NoGradGuard no_grad;
    for (auto& p : impl_->mlp.named_parameters()) p.value().copy_(tensor_from(j.at("mlp").at("params").at(p.key())));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    XCEL_FAIL(ExitCode::kInput, "latency predictor '{}' is damaged ({}); fit it again with xcel latency fit", path,
              e.what());
  }
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
double Predictor::predict_ms(const ir::ModelSummary& s, int* regressed) const { return impl_->predict(s, regressed); }
const std::string& Predictor::target() const { return impl_->target; }

std::string Predictor::outside_fit(const ir::ModelSummary& s) const {
  const Impl& m = *impl_;
  int outside = 0, untabled = 0;
  std::string first;
  for (const auto& l : s.layers) {
    if (m.lut.count(layer_signature(l)) == 0) ++untabled;
    if (!m.inside(l)) {
      if (first.empty()) first = layer_signature(l);
      ++outside;
    }
  }
  const bool whole = s.layers.size() > 1;
  const bool other_family = whole && !m.family_coef.empty() && m.family_coef.count(family_key(s)) == 0;
  const int n = static_cast<int>(s.layers.size());
  if (outside == 0 && !(other_family && 2 * untabled > n)) return "";
  std::string why;
  if (outside > 0) why = fmt::format("{} of {} layers lie outside the layer sizes it was fitted on (first: {})", outside, n, first);
  if (other_family && 2 * untabled > n)
    why += fmt::format("{}{} of {} layers are not in its table and its whole-model calibration is for other models",
                       why.empty() ? "" : "; ", untabled, n);
  return why;
}
int Predictor::threads() const { return impl_->threads; }

namespace {

// The regressor: log-latency of the table's entries from layer features.
void fit_regressor(Predictor::Impl& impl, const FitData& d) {
  torch::manual_seed(d.seed);
  std::vector<float> xs, ys;
  for (const auto& [sig, l] : d.layers) {
    auto f = features(l);
    xs.insert(xs.end(), f.begin(), f.end());
    ys.push_back(static_cast<float>(std::log(std::max(d.layer_ms.at(sig), 1e-6))));
  }
  at::Tensor x = torch::tensor(xs).reshape({static_cast<std::int64_t>(ys.size()), kFeatures});
  at::Tensor y = torch::tensor(ys).reshape({-1, 1});
  impl.mean_log = y.mean().item<float>();
  torch::optim::Adam opt(impl.mlp.parameters(), torch::optim::AdamOptions(3e-3));
  for (int step = 0; step < 3000; ++step) {
    opt.zero_grad();
    at::Tensor loss = torch::mse_loss(impl.mlp.forward(x), y - impl.mean_log);
    loss.backward();
    opt.step();
  }
}

// The class fits: for every class with enough measured widths, least squares of class_terms minimising relative
// error (rows scaled by 1 / measured), kept only where it reproduces its own entries within 10% in the median.
void fit_classes(Predictor::Impl& impl, const FitData& d) {
  std::map<std::string, std::vector<const ir::Layer*>> members;
  for (const auto& [sig, l] : d.layers) members[class_key(l)].push_back(&l);
  for (const auto& [key, layers] : members) {
    const size_t terms = class_terms(*layers.front()).size();
    if (layers.size() < terms + 2) continue;
    std::vector<double> a, b;
    Predictor::Impl::ClassFit fit;
    fit.in_lo = fit.out_lo = std::numeric_limits<std::int64_t>::max();
    for (const ir::Layer* l : layers) {
      const double ms = d.layer_ms.at(layer_signature(*l));
      for (double t : class_terms(*l)) a.push_back(t / ms);
      b.push_back(1.0);
      fit.in_lo = std::min(fit.in_lo, l->in_channels);
      fit.in_hi = std::max(fit.in_hi, l->in_channels);
      fit.out_lo = std::min(fit.out_lo, l->out_channels);
      fit.out_hi = std::max(fit.out_hi, l->out_channels);
    }
    const auto rows = static_cast<std::int64_t>(layers.size());
    at::Tensor A = torch::tensor(a, torch::kFloat64).reshape({rows, static_cast<std::int64_t>(terms)});
    at::Tensor B = torch::tensor(b, torch::kFloat64).reshape({rows, 1});
    at::Tensor coef = std::get<0>(at::linalg_lstsq(A, B)).contiguous();
    fit.coef.assign(coef.data_ptr<double>(), coef.data_ptr<double>() + terms);
    std::vector<double> err;
    for (const ir::Layer* l : layers) err.push_back(std::abs(fit.predict(*l) / d.layer_ms.at(layer_signature(*l)) - 1.0));
    std::nth_element(err.begin(), err.begin() + static_cast<std::ptrdiff_t>(err.size() / 2), err.end());
    if (std::isfinite(err[err.size() / 2]) && err[err.size() / 2] <= 0.10) impl.classes[key] = fit;
  }
}

// Whole-model calibration on the fitted variants (of one family, or all when `family` is empty), minimising
// relative error (rows scaled by 1 / measured); empty when fewer than `min_rows` variants qualify.
std::vector<double> calibrate(const Predictor::Impl& impl, const FitData& d, const std::string& family, int min_rows) {
  std::vector<double> a, b;
  int rows = 0;
  for (const auto& s : d.samples) {
    if (s.held_out || (!family.empty() && family_key(s.summary) != family)) continue;
    for (double x : impl.design(s.summary, nullptr)) a.push_back(x / s.measured_ms);
    b.push_back(1.0);
    ++rows;
  }
  if (rows < min_rows) return {};
  at::Tensor A = torch::tensor(a, torch::kFloat64).reshape({rows, 4});
  at::Tensor B = torch::tensor(b, torch::kFloat64).reshape({rows, 1});
  at::Tensor coef = std::get<0>(at::linalg_lstsq(A, B)).contiguous();
  return std::vector<double>(coef.data_ptr<double>(), coef.data_ptr<double>() + 4);
}

nlohmann::json classes_json(const Predictor::Impl& impl) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, c] : impl.classes)
    out[key] = {{"coef", c.coef}, {"in", {c.in_lo, c.in_hi}}, {"out", {c.out_lo, c.out_hi}}};
  return out;
}

}  // namespace

nlohmann::json fit_predictor(const FitData& d, const std::string& out) {
  auto impl = std::make_unique<Predictor::Impl>();
  impl->target = d.target;
  impl->threads = d.threads;
  impl->lut = d.layer_ms;
  fit_regressor(*impl, d);
  fit_classes(*impl, d);
  impl->coef = calibrate(*impl, d, "", 5);
  XCEL_CHECK(!impl->coef.empty(), ExitCode::kUsage,
             "fewer than 5 variants were left to fit after the hold-out; raise --variants or lower --holdout");
  std::set<std::string> families;
  for (const auto& s : d.samples) families.insert(family_key(s.summary));
  for (const auto& f : families) {
    auto c = calibrate(*impl, d, f, 8);
    if (!c.empty()) impl->family_coef[f] = c;
  }
  // Accuracy on held-out variants (their layers never entered the table; unseen signatures go to the MLP).
  int held = 0, within = 0, regressed = 0, layers = 0;
  double sq = 0, sq_rel = 0;
  nlohmann::json held_rows = nlohmann::json::array();
  for (const auto& s : d.samples) {
    if (!s.held_out) continue;
    int r = 0;
    const double p = impl->predict(s.summary, &r);
    const double rel = (p - s.measured_ms) / s.measured_ms;
    ++held;
    within += std::abs(rel) <= 0.10 ? 1 : 0;
    sq += (p - s.measured_ms) * (p - s.measured_ms);
    sq_rel += rel * rel;
    regressed += r;
    layers += static_cast<int>(s.summary.layers.size());
    held_rows.push_back({{"model", s.model}, {"flops", s.summary.flops}, {"measured_ms", s.measured_ms}, {"predicted_ms", p},
                         {"regressed_layers", r}});
  }
  XCEL_CHECK(held > 0, ExitCode::kUsage, "no variant was held out; raise --variants or --holdout");

  nlohmann::json params;
  for (const auto& p : impl->mlp.named_parameters()) params[p.key()] = tensor_json(p.value().detach());
  std::vector<float> lo(kFeatures, std::numeric_limits<float>::max()), hi(kFeatures, std::numeric_limits<float>::lowest());
  for (const auto& [sig, l] : d.layers) {
    const auto f = features(l);
    for (int i = 0; i < kFeatures; ++i) {
      lo[static_cast<size_t>(i)] = std::min(lo[static_cast<size_t>(i)], f[static_cast<size_t>(i)]);
      hi[static_cast<size_t>(i)] = std::max(hi[static_cast<size_t>(i)], f[static_cast<size_t>(i)]);
    }
  }
  nlohmann::json saved = {{"target", d.target}, {"threads", d.threads}, {"lut", d.layer_ms}, {"coef", impl->coef},
                          {"feature_min", lo}, {"feature_max", hi},
                          {"family_coef", impl->family_coef}, {"classes", classes_json(*impl)},
                          {"coef_terms", {"conv_linear_ms", "batchnorm_ms", "activation_melements", "constant"}},
                          {"mlp", {{"mean_log", impl->mean_log}, {"params", params}}}};
  saved.update(d.provenance);
  fs::write_file_atomic(out, saved.dump() + "\n");
  nlohmann::json report = {{"out", out},
          {"target", d.target},
          {"threads", d.threads},
          {"variants", d.samples.size()},
          {"fitted", d.samples.size() - static_cast<size_t>(held)},
          {"held_out", held},
          {"within_10pct", static_cast<double>(within) / held},
          {"rmse_ms", std::sqrt(sq / held)},
          {"rmse_relative", std::sqrt(sq_rel / held)},
          {"table_entries", d.layer_ms.size()},
          {"regressed_layer_share", layers > 0 ? static_cast<double>(regressed) / layers : 0.0},
          {"layer_classes_fitted", impl->classes.size()},
          {"coef", impl->coef},
          {"held_out_variants", held_rows}};
  report.update(d.provenance);
  return report;
}

}  // namespace xcel::latency
