#include "core/duration.hpp"

#include <cctype>
#include <cmath>

namespace hydrate {
namespace {

// Milliseconds per unit, longest unit names first so "ms" is not read as "m" then "s".
std::optional<double> unit_ms(std::string_view text, std::size_t& at) {
  struct Unit {
    std::string_view name;
    double ms;
  };
  static constexpr Unit kUnits[] = {{"ms", 1.0},  {"us", 1e-3}, {"\xC2\xB5s", 1e-3}, {"ns", 1e-6},
                                    {"h", 3.6e6}, {"m", 6e4},   {"s", 1000.0}};
  for (const Unit& unit : kUnits) {
    if (text.substr(at, unit.name.size()) == unit.name) {
      at += unit.name.size();
      return unit.ms;
    }
  }
  return std::nullopt;
}

// A decimal number at `at` ("1", "1.5", ".5"); advances past it.
std::optional<double> number(std::string_view text, std::size_t& at) {
  std::size_t start = at;
  double value = 0, scale = 1;
  bool digits = false, point = false;
  for (; at < text.size(); ++at) {
    char c = text[at];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
      if (point) {
        scale /= 10;
        value += (c - '0') * scale;
      } else {
        value = value * 10 + (c - '0');
      }
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!digits) {
    at = start;
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<Millis> parse_duration_ms(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  double total = 0;
  std::size_t at = 0;
  auto first = number(text, at);
  if (!first) return std::nullopt;
  if (at == text.size()) {
    total = *first * 1000.0;  // a plain number: seconds
  } else {
    std::optional<double> value = first;
    while (true) {
      auto ms = unit_ms(text, at);
      if (!ms) return std::nullopt;
      total += *value * *ms;
      if (at == text.size()) break;
      value = number(text, at);
      if (!value) return std::nullopt;
    }
  }
  if (!std::isfinite(total) || total > 9.2e18) return std::nullopt;
  return static_cast<Millis>(std::ceil(total - 1e-9));
}

}  // namespace hydrate
