#pragma once
// Configuration, resolved in one place with a numbered precedence and the origin of every value:
//   1. command-line flags  2. HYDRATE_* environment  3. the config file  4. built-in defaults.
// The config file (--config or HYDRATE_CONFIG) holds `key = value` lines; `#` starts a comment.
// Keys: see known_keys(). `price.MODEL = INPUT,CACHED,OUTPUT` prices any model.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/pricing.hpp"
#include "core/result.hpp"

namespace hydrate {

struct ConfigValue {
  std::string value;
  std::string origin;  // "flag", "environment HYDRATE_DB", "config FILE:LINE", "default"
};

struct KeyInfo {
  std::string key;
  std::string default_value;
  std::vector<std::string> environment;  // variables, first found wins
  bool secret = false;                   // shown as *** and never logged
  std::string help;
};

const std::vector<KeyInfo>& known_keys();

class Config {
 public:
  // flags: key -> value for flags the user gave. getenv: environment lookup (nullptr = unset).
  // file_text/file_name: the config file's content and name, or empty.
  static Result<Config> resolve(const std::map<std::string, std::string>& flags,
                                const std::function<const char*(const char*)>& getenv,
                                const std::string& file_text, const std::string& file_name);

  const std::string& get(const std::string& key) const;  // "" for an unknown key
  const std::string& origin(const std::string& key) const;
  // The integer value; invalid_input naming the key, its origin and the range when it is not.
  Result<long long> get_int(const std::string& key, long long min, long long max) const;
  // The number (a decimal such as 0.95 or 120); invalid_input naming the key, its origin and the
  // range when it is not one or out of range.
  Result<double> get_number(const std::string& key, double min, double max) const;
  // The duration in milliseconds (parse_duration_ms: "30m", "90s", "1h30m", plain seconds);
  // invalid_input naming the key, its origin and the range when it is not one or out of range.
  Result<long long> get_duration_ms(const std::string& key, long long min_ms,
                                    long long max_ms) const;
  const PriceTable& prices() const { return prices_; }
  // Every key with its value (secrets masked) and origin, for `hydrate config`-style display.
  std::vector<std::pair<std::string, ConfigValue>> describe() const;

 private:
  std::map<std::string, ConfigValue> values_;
  PriceTable prices_;
};

}  // namespace hydrate
