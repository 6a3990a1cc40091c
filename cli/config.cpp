// hydrate config: the effective configuration, each value with where it came from.
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"

namespace hydrate::cli {
namespace {

struct ConfigFlags {
  std::string key;  // one key only: its value alone
};

// Where the config file came from: --config, HYDRATE_CONFIG, or none.
std::pair<std::string, std::string> config_file_origin(const Globals& globals) {
  if (!globals.config_file.empty()) return {globals.config_file, "flag"};
  if (const char* env = std::getenv("HYDRATE_CONFIG"); env && *env)
    return {env, "environment HYDRATE_CONFIG"};
  return {"", "none"};
}

// Secrets are masked by Config::describe; a database URL's password is masked here.
std::vector<std::pair<std::string, ConfigValue>> shown_values(const Config& config) {
  auto values = config.describe();
  for (auto& [key, value] : values) {
    if (key == "db") value.value = store::without_password(value.value);
  }
  return values;
}

const KeyInfo& key_info(const std::string& key) {
  for (const auto& info : known_keys()) {
    if (info.key == key) return info;
  }
  throw Failure(kUsage, fmt::format("unknown key '{}' (hydrate config lists them)", key));
}

void print_json(const Globals& globals, const Config& config) {
  auto [path, origin] = config_file_origin(globals);
  nlohmann::ordered_json out;
  out["configFile"] = path.empty() ? nlohmann::json(nullptr) : nlohmann::json(path);
  out["configFileOrigin"] = origin;
  out["keys"] = nlohmann::json::array();
  for (const auto& [key, value] : shown_values(config)) {
    const KeyInfo& info = key_info(key);
    out["keys"].push_back({{"key", key},
                           {"value", value.value},
                           {"origin", value.origin},
                           {"default", info.default_value},
                           {"environment", info.environment},
                           {"secret", info.secret},
                           {"help", info.help}});
  }
  print_line(out.dump(2));
}

void print_table(const Globals& globals, const Config& config) {
  auto [path, origin] = config_file_origin(globals);
  print_line(path.empty() ? "config file: none (--config or HYDRATE_CONFIG names one)"
                          : fmt::format("config file: {} ({})", path, origin));
  auto values = shown_values(config);
  std::size_t key_width = 3, value_width = 5;
  for (const auto& [key, value] : values) {
    key_width = std::max(key_width, key.size());
    value_width = std::max(value_width, std::min<std::size_t>(value.value.size(), 40));
  }
  print_line(fmt::format("{:<{}}  {:<{}}  {}", "KEY", key_width, "VALUE", value_width, "ORIGIN"));
  for (const auto& [key, value] : values) {
    std::string shown = value.value.empty() ? "\"\"" : value.value;
    print_line(fmt::format("{:<{}}  {:<{}}  {}", key, key_width, shown, value_width, value.origin));
  }
}

}  // namespace

void add_config(CLI::App& app, Globals& globals) {
  auto flags = std::make_shared<ConfigFlags>();
  auto* command = app.add_subcommand(
      "config", "show the effective configuration and where each value came from");
  command->add_option("key", flags->key, "print only this key's value");
  command->callback([&globals, flags] {
    Config config = load_config(globals);
    if (!flags->key.empty()) {
      key_info(flags->key);  // a usage error for an unknown key
      for (const auto& [key, value] : shown_values(config)) {
        if (key != flags->key) continue;
        print_line(
            globals.json
                ? nlohmann::json({{"key", key}, {"value", value.value}, {"origin", value.origin}})
                      .dump()
                : value.value);
      }
      return;
    }
    if (globals.json)
      print_json(globals, config);
    else
      print_table(globals, config);
  });
}

}  // namespace hydrate::cli
