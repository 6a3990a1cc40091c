#include "core/config.hpp"

#include "core/duration.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/tsv.hpp"

namespace hydrate {

const std::vector<KeyInfo>& known_keys() {
  static const std::vector<KeyInfo> keys = {
      {"db",
       "sqlite:hydrate.db",
       {"HYDRATE_DB"},
       false,
       "database: sqlite:PATH, a path, or postgresql://…"},
      {"llm.url",
       "http://127.0.0.1:8080/v1",
       {"HYDRATE_LLM_URL"},
       false,
       "OpenAI-compatible base URL"},
      {"llm.model", "gpt-4o-mini", {"HYDRATE_LLM_MODEL"}, false, "model name sent to the endpoint"},
      {"llm.api_key",
       "",
       {"HYDRATE_LLM_API_KEY", "OPENAI_API_KEY"},
       true,
       "API key (environment only)"},
      {"llm.api_key_file", "", {"HYDRATE_LLM_API_KEY_FILE"}, false, "file holding the API key"},
      {"llm.timeout_ms", "120000", {"HYDRATE_LLM_TIMEOUT_MS"}, false, "whole-request timeout"},
      {"llm.flavor",
       "auto",
       {"HYDRATE_LLM_FLAVOR"},
       false,
       "auto, openai, azure, llamacpp, vllm or ollama (auto: from the URL)"},
      {"llm.api_version",
       "2024-10-21",
       {"HYDRATE_LLM_API_VERSION"},
       false,
       "api-version query parameter (azure)"},
      {"llm.max_tokens_field",
       "auto",
       {},
       false,
       "auto (the model profile), max_tokens or max_completion_tokens"},
      {"llm.response_format",
       "auto",
       {},
       false,
       "auto (the profile, then what the endpoint accepts), json_schema, json_object or prompt"},
      {"models.file",
       "",
       {"HYDRATE_MODELS"},
       false,
       "model profile table replacing the built-in data/models.tsv"},
      {"llm.max_response_bytes", "1048576", {}, false, "answers larger than this are cut and fail"},
      {"work.concurrency", "8", {"HYDRATE_CONCURRENCY"}, false, "model calls in flight per worker"},
      {"work.lease_seconds", "60", {}, false, "lease of a claimed step, extended while in flight"},
      {"work.max_attempts", "5", {}, false, "attempts per step before it fails"},
      {"work.store_outage_seconds",
       "120",
       {},
       false,
       "how long a worker rides out a failing database before it exits"},
      {"batch.poll_min_ms",
       "1000",
       {},
       false,
       "batch mode: the first poll of a new batch, and the pause between visits"},
      {"batch.poll_max_ms", "60000", {}, false, "batch mode: the longest wait between polls"},
      {"batch.queue_tokens",
       "0",
       {},
       false,
       "batch mode: the prompt tokens a model's open batches may hold at once (the provider's "
       "enqueued-token limit); 0: learned from the provider's refusals"},
      {"batch.delete_files",
       "1",
       {},
       false,
       "batch mode: 1 deletes a closed batch's input, output and error files at the provider; "
       "0 keeps them"},
      {"batch.hold_ms",
       "300000",
       {},
       false,
       "batch mode: how long a worker holds a batch it drives; a dead worker's, once lapsed, "
       "are taken over"},
      {"submit.mode",
       "online",
       {"HYDRATE_MODE"},
       false,
       "how a submitted root's calls are sent: online, or batch (the Batch API, half price)"},
      {"retry.base_ms", "1000", {"HYDRATE_RETRY_BASE_MS"}, false, "first retry delay scale"},
      {"retry.max_ms", "60000", {}, false, "cap of a retry delay"},
      {"retry.max_elapsed",
       "30m",
       {"HYDRATE_RETRY_MAX_ELAPSED"},
       false,
       "a step fails once its transient faults last this long (e.g. 30m, 90s)"},
      {"retry.max_transient",
       "200",
       {"HYDRATE_RETRY_MAX_TRANSIENT"},
       false,
       "transient retries per step at most"},
      {"reconcile.stuck_after",
       "15m",
       {},
       false,
       "pending and due this long counts as stuck (reconcile, hydrate_stuck_jobs)"},
      {"report.since", "168h", {}, false, "hydrate report's default window (e.g. 24h, 168h)"},
      {"report.max_root_minutes",
       "120",
       {},
       false,
       "report target: average minutes from submit to a succeeded root, under"},
      {"report.min_success_rate",
       "0.95",
       {},
       false,
       "report target: succeeded / (succeeded + failed) roots, above"},
      {"report.max_cost_error",
       "0.10",
       {},
       false,
       "report target: mean |actual - estimated| / estimated of succeeded roots, at most"},
      {"report.max_reconcile_seconds",
       "30",
       {},
       false,
       "report target: the longest reconcile run, under"},
      {"report.min_claim_success_rate",
       "0.99",
       {},
       false,
       "report target: claims whose write was accepted, of those that ended, above"},
      {"prompts.dir",
       "",
       {"HYDRATE_PROMPTS_DIR"},
       false,
       "directory of prompt overrides (NAME.md)"},
      {"catalog.file",
       "",
       {"HYDRATE_CATALOG"},
       false,
       "curriculum catalog replacing the built-in one"},
  };
  return keys;
}

namespace {
const std::string kEmpty;

const KeyInfo* find_key(const std::string& key) {
  for (const auto& info : known_keys()) {
    if (info.key == key) return &info;
  }
  return nullptr;
}
}  // namespace

Result<Config> Config::resolve(const std::map<std::string, std::string>& flags,
                               const std::function<const char*(const char*)>& getenv,
                               const std::string& file_text, const std::string& file_name) {
  Config config;
  config.prices_ = PriceTable::builtin();
  std::map<std::string, ConfigValue> from_file;
  int line_number = 0;
  std::size_t start = 0;
  while (start < file_text.size()) {
    std::size_t end = file_text.find('\n', start);
    if (end == std::string::npos) end = file_text.size();
    std::string line = trim(std::string_view(file_text).substr(start, end - start));
    start = end + 1;
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    std::size_t equals = line.find('=');
    std::string where = fmt::format("{}:{}", file_name, line_number);
    if (equals == std::string::npos) {
      return make_error(ErrorKind::invalid_input, fmt::format("{}: expected 'key = value'", where));
    }
    std::string key = trim(line.substr(0, equals)), value = trim(line.substr(equals + 1));
    if (key.rfind("price.", 0) == 0) {
      HYDRATE_TRY(config.prices_.set_from_text(key.substr(6), value));
      continue;
    }
    if (!find_key(key)) {
      return make_error(ErrorKind::invalid_input, fmt::format("{}: unknown key '{}'", where, key));
    }
    if (key == "llm.api_key") {
      return make_error(ErrorKind::invalid_input,
                        fmt::format("{}: put the API key in the environment "
                                    "(HYDRATE_LLM_API_KEY) or in llm.api_key_file, not in the "
                                    "config file",
                                    where));
    }
    from_file[key] = {value, "config " + where};
  }
  for (const auto& info : known_keys()) {
    ConfigValue chosen{info.default_value, "default"};
    if (auto it = from_file.find(info.key); it != from_file.end()) chosen = it->second;
    for (const auto& name : info.environment) {
      const char* value = getenv ? getenv(name.c_str()) : nullptr;
      if (value && *value) {
        chosen = {value, "environment " + name};
        break;
      }
    }
    if (auto it = flags.find(info.key); it != flags.end()) chosen = {it->second, "flag"};
    config.values_[info.key] = chosen;
  }
  return config;
}

const std::string& Config::get(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? kEmpty : it->second.value;
}

const std::string& Config::origin(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? kEmpty : it->second.origin;
}

Result<long long> Config::get_int(const std::string& key, long long min, long long max) const {
  const std::string& text = get(key);
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0' || value < min || value > max) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("{} must be a whole number from {} to {} (got '{}' from {})", key,
                                  min, max, text, origin(key)));
  }
  return value;
}

Result<double> Config::get_number(const std::string& key, double min, double max) const {
  const std::string& text = get(key);
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(value) || value < min ||
      value > max) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("{} must be a number from {} to {} (got '{}' from {})", key, min,
                                  max, text, origin(key)));
  }
  return value;
}

Result<long long> Config::get_duration_ms(const std::string& key, long long min_ms,
                                          long long max_ms) const {
  const std::string& text = get(key);
  auto ms = parse_duration_ms(text);
  if (!ms || *ms < min_ms || *ms > max_ms) {
    return make_error(ErrorKind::invalid_input,
                      fmt::format("{} must be a duration from {} ms to {} s, like 30m or 90s (got "
                                  "'{}' from {})",
                                  key, min_ms, max_ms / 1000, text, origin(key)));
  }
  return *ms;
}

std::vector<std::pair<std::string, ConfigValue>> Config::describe() const {
  std::vector<std::pair<std::string, ConfigValue>> out;
  for (const auto& info : known_keys()) {
    ConfigValue value = values_.at(info.key);
    if (info.secret && !value.value.empty()) value.value = "***";
    out.emplace_back(info.key, value);
  }
  return out;
}

}  // namespace hydrate
