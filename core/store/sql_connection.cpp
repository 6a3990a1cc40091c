#include "core/store/sql_connection.hpp"

#include <cstdlib>

namespace hydrate::store::sql {

std::string Row::text(std::size_t i) const {
  const Value& v = cells_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  return {};
}

std::int64_t Row::int64(std::size_t i) const {
  const Value& v = cells_.at(i);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    if (*s == "t" || *s == "true") return 1;  // PostgreSQL booleans in text form
    if (*s == "f" || *s == "false") return 0;
    return std::strtoll(s->c_str(), nullptr, 10);
  }
  return 0;
}

double Row::real(std::size_t i) const {
  const Value& v = cells_.at(i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
  if (const auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return 0;
}

}  // namespace hydrate::store::sql
