#include "core/llm/curl_support.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "core/llm/transport.hpp"

namespace hydrate::llm {
namespace {

constexpr std::string_view kLoopbackHosts = "127.0.0.1,localhost,::1";

// Headers worth keeping on a response: who answered (for the provider's support desk) and the
// account's rate limits.
bool kept_header(std::string_view name) {
  return iequals(name, "x-request-id") || iequals(name, "apim-request-id") ||
         (name.size() > 12 && iequals(name.substr(0, 12), "x-ratelimit-"));
}

}  // namespace

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string no_proxy_list() {
  std::string list;
  for (const char* name : {"NO_PROXY", "no_proxy"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
      list = value;
      break;
    }
  }
  if (trim_space(list) == "*") return list;
  if (!list.empty()) list += ',';
  list += kLoopbackHosts;
  return list;
}

std::string_view trim_space(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void capture_header_line(std::string_view line, HeaderCapture& capture) {
  if (line.starts_with("HTTP/")) {
    capture = HeaderCapture{};
    const auto space = line.find(' ');
    if (space != std::string_view::npos) {
      const std::string_view rest = line.substr(space + 1);
      std::from_chars(rest.data(), rest.data() + rest.size(), capture.status);
    }
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view name = trim_space(line.substr(0, colon));
  const std::string_view value = trim_space(line.substr(colon + 1));
  if (iequals(name, "retry-after-ms")) {
    capture.retry_after_ms = value;
  } else if (iequals(name, "retry-after")) {
    capture.retry_after = value;
  } else if (kept_header(name) && capture.kept.size() < 16) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    capture.kept.emplace_back(std::move(lower), std::string(value.substr(0, 200)));
  }
}

std::optional<std::int64_t> retry_after_of(const HeaderCapture& capture) {
  return parse_retry_after_ms(capture.retry_after_ms, capture.retry_after,
                              std::chrono::system_clock::now());
}

void redact(std::string& text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "[redacted]");
      at += 10;
    }
  }
}

std::string describe_curl_error(CURLcode code, std::string_view error_buffer,
                                const std::vector<std::string>& secrets) {
  std::string message = curl_easy_strerror(code);
  const std::string_view detail = trim_space(error_buffer);
  if (detail.find(message) != std::string_view::npos) {
    message = detail;
  } else if (!detail.empty()) {
    message += std::string(": ") += detail;
  }
  redact(message, secrets);
  return message;
}

}  // namespace hydrate::llm
