// Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
#include "xcel/report/svg.h"

#include "xcel/report/table.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <spdlog/fmt/fmt.h>

namespace xcel::report::svg {
namespace {

constexpr int kLeft = 64, kRight = 16, kTop = 44, kBottom = 58;

std::string num(double v) { return fmt::format("{:.1f}", v); }

std::string tick_label(double v, bool percent, double step) {
  if (percent) return fmt::format("{:.{}f}%", 100 * v, step * 100 < 1 ? 1 : 0);
  const double a = std::abs(v);
  if (a >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:g}k", v / 1e3);
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return fmt::format("{:.{}f}", v, std::min(decimals, 4));
}

struct Scale {
  double lo, hi, a, b;  // pixel = a + (v - lo) / (hi - lo) * (b - a)
  double operator()(double v) const { return hi > lo ? a + (v - lo) / (hi - lo) * (b - a) : (a + b) / 2; }
};

void fit(const Axis& axis, const std::vector<double>& values, double& lo, double& hi) {
  if (axis.min != 0 || axis.max != 0) {
    lo = axis.min;
    hi = axis.max;
    return;
  }
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (axis.zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (hi == lo) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.1);
  const double pad = (hi - lo) * 0.04;
  if (!(axis.zero && lo == 0)) lo -= pad;
  hi += pad;
}

std::string open_svg(const std::string& id, const std::string& title, int w, int h) {
  return fmt::format(
      "<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">\n<text class=\"title\" x=\"{}\" y=\"20\">{}</text>\n",
      escape(id), w, h, w, h, escape(title), kLeft, escape(title));
}

// Axes with grid lines and tick labels; returns the SVG.
std::string axes(const Scale& xs, const Scale& ys, const Axis& xa, const Axis& ya, bool x_ticks, int w, int h) {
  std::string s;
  const auto yt = ticks(ys.lo, ys.hi);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double v : yt) {
    s += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", kLeft, w - kRight, num(ys(v)),
                     num(ys(v)));
    s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
                     num(ys(v) + 4), tick_label(v, ya.percent, ystep));
  }
  if (x_ticks) {
    const auto xt = ticks(xs.lo, xs.hi);
    const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
    for (double v : xt)
      s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(xs(v)),
                       h - kBottom + 16, tick_label(v, xa.percent, xstep));
  }
  s += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", kLeft, w - kRight, h - kBottom,
                   h - kBottom);
  s += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\n", kLeft, kLeft, kTop, h - kBottom);
  s += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (kLeft + w - kRight) / 2,
                   h - kBottom + 34, escape(xa.label));
  s += fmt::format("<text class=\"label\" transform=\"translate(14,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   (kTop + h - kBottom) / 2, escape(ya.label));
  return s;
}

// Legend in the top-right corner, under the title.
std::string legend(const std::vector<std::string>& names, const std::vector<std::string>& colors, int w) {
  auto width = [](const std::string& n) { return 24 + 6.5 * static_cast<double>(n.size()); };
  double total = 0;
  for (const auto& n : names) total += width(n);
  double x = std::max(static_cast<double>(kLeft), w - kRight - total);
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    s += fmt::format("<rect x=\"{}\" y=\"27\" width=\"10\" height=\"10\" fill=\"{}\"/>", num(x), colors[i]);
    s += fmt::format("<text class=\"legend\" x=\"{}\" y=\"36\">{}</text>\n", num(x + 14), escape(names[i]));
    x += width(names[i]);
  }
  return s;
}

}  // namespace

std::string escape(const std::string& s) { return escape_markup(s); }

std::vector<double> ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> out;
  // Multiples of the step (not a running sum, so 0.6 is 0.6 and not 0.6000000000000001).
  for (auto k = static_cast<long long>(std::ceil(lo / step - 1e-9)); static_cast<double>(k) * step <= hi + step * 1e-9; ++k)
    out.push_back(static_cast<double>(k) * (step / mag) * mag);
  return out;
}

std::string render(const XYChart& c) {
  std::vector<double> xv, yv;
  for (const auto& s : c.series) {
    xv.insert(xv.end(), s.x.begin(), s.x.end());
    yv.insert(yv.end(), s.y.begin(), s.y.end());
  }
  for (const auto& r : c.refs) (r.vertical ? xv : yv).push_back(r.at);
  double x0, x1, y0, y1;
  fit(c.x, xv, x0, x1);
  fit(c.y, yv, y0, y1);
  const Scale xs{x0, x1, static_cast<double>(kLeft), static_cast<double>(c.width - kRight)};
  const Scale ys{y0, y1, static_cast<double>(c.height - kBottom), static_cast<double>(kTop)};
  std::string s = open_svg(c.id, c.title, c.width, c.height);
  for (const auto& b : c.bands) {
    const double a = xs(std::max(b.x0, x0)), e = xs(std::min(b.x1, x1));
    s += fmt::format("<rect class=\"band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>", num(a),
                     kTop, num(std::max(0.0, e - a)), c.height - kBottom - kTop, escape(b.label));
    s += fmt::format("<text class=\"bandlabel\" x=\"{}\" y=\"{}\">{}</text>\n", num(a + 4), kTop + 12, escape(b.label));
  }
  s += axes(xs, ys, c.x, c.y, true, c.width, c.height);
  for (const auto& r : c.refs) {
    if (r.vertical) {
      s += fmt::format("<line class=\"ref\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"><title>{3}</title></line>"
                       "<text class=\"reflabel\" x=\"{4}\" y=\"{5}\">{3}</text>\n",
                       num(xs(r.at)), kTop, c.height - kBottom, escape(r.label), num(xs(r.at) + 4), kTop + 24);
    } else {
      s += fmt::format("<line class=\"ref\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"><title>{3}</title></line>"
                       "<text class=\"reflabel\" x=\"{4}\" y=\"{5}\">{3}</text>\n",
                       kLeft, c.width - kRight, num(ys(r.at)), escape(r.label), kLeft + 4, num(ys(r.at) - 4));
    }
  }
  std::vector<std::string> names, colors;
  for (const auto& se : c.series) {
    names.push_back(se.name);
    colors.push_back(se.color);
    const size_t n = std::min(se.x.size(), se.y.size());
    auto tip = [&](size_t i) {
      return i < se.tips.size() ? se.tips[i]
                                : fmt::format("{}: {:g}, {}", se.name, se.x[i],
                                              c.y.percent ? fmt::format("{:.2f}%", 100 * se.y[i]) : fmt::format("{:g}", se.y[i]));
    };
    if (se.mark == Mark::kDots) {
      s += fmt::format("<g class=\"series\" data-series=\"{}\" fill=\"{}\">", escape(se.name), se.color);
      for (size_t i = 0; i < n; ++i)
        s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"><title>{}</title></circle>", num(xs(se.x[i])),
                         num(ys(se.y[i])), se.radius, escape(tip(i)));
      s += "</g>\n";
      continue;
    }
    std::string d;
    for (size_t i = 0; i < n; ++i) {
      if (se.mark == Mark::kStep && i > 0) d += fmt::format(" L{},{}", num(xs(se.x[i])), num(ys(se.y[i - 1])));
      d += fmt::format("{}{},{}", i == 0 ? "M" : " L", num(xs(se.x[i])), num(ys(se.y[i])));
    }
    s += fmt::format("<path class=\"series\" data-series=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}>"
                     "<title>{}</title></path>\n",
                     escape(se.name), d, se.color, se.dashed ? " stroke-dasharray=\"6 4\"" : "", escape(se.name));
  }
  s += legend(names, colors, c.width);
  return s + "</svg>\n";
}

std::string render(const BarChart& c) {
  std::vector<double> all{0.0};
  for (const auto& v : c.values) all.insert(all.end(), v.begin(), v.end());
  for (const auto& r : c.refs) all.push_back(r.at);
  double y0, y1;
  Axis ya{c.value_label, c.percent, 0, 0, true};
  fit(ya, all, y0, y1);
  const Scale ys{y0, y1, static_cast<double>(c.height - kBottom), static_cast<double>(kTop)};
  const Scale xs{0, 1, static_cast<double>(kLeft), static_cast<double>(c.width - kRight)};
  std::string s = open_svg(c.id, c.title, c.width, c.height);
  s += axes(xs, ys, Axis{"", false}, ya, false, c.width, c.height);
  const size_t groups = c.categories.size(), series = c.values.size();
  const double slot = static_cast<double>(c.width - kLeft - kRight) / static_cast<double>(std::max<size_t>(1, groups));
  const double bar = std::max(1.0, slot * 0.8 / static_cast<double>(std::max<size_t>(1, series)));
  for (size_t g = 0; g < groups; ++g) {
    const double gx = kLeft + slot * static_cast<double>(g) + slot * 0.1;
    for (size_t k = 0; k < series; ++k) {
      const double v = g < c.values[k].size() ? c.values[k][g] : 0;
      const double top = ys(std::max(v, 0.0)), base = ys(std::min(v, 0.0));
      const std::string val = c.percent ? fmt::format("{:.1f}%", 100 * v) : fmt::format("{:.4g}", v);
      s += fmt::format("<rect class=\"bar\" data-series=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
                       "<title>{} — {}: {}</title></rect>",
                       escape(c.names[k]), num(gx + bar * static_cast<double>(k)), num(top), num(bar * 0.92),
                       num(std::max(0.5, base - top)), c.colors[k], escape(c.categories[g]), escape(c.names[k]), val);
    }
    // Category labels, rotated when crowded.
    const double cx = gx + slot * 0.4;
    if (groups > 8) {
      s += fmt::format("<text class=\"tick\" transform=\"translate({},{}) rotate(-35)\" text-anchor=\"end\">{}</text>\n",
                       num(cx), c.height - kBottom + 12, escape(c.categories[g]));
    } else {
      s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(cx),
                       c.height - kBottom + 16, escape(c.categories[g]));
    }
  }
  for (const auto& r : c.refs)
    s += fmt::format("<line class=\"ref\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"><title>{3}</title></line>"
                     "<text class=\"reflabel\" x=\"{4}\" y=\"{5}\">{3}</text>\n",
                     kLeft, c.width - kRight, num(ys(r.at)), escape(r.label), kLeft + 4, num(ys(r.at) - 4));
  s += legend(c.names, c.colors, c.width);
  return s + "</svg>\n";
}

}  // namespace xcel::report::svg
