#pragma once
// What the two libcurl clients share (the concurrent Transport and the blocking BatchClient):
// libcurl's one-time set-up, the proxy bypass for loopback, the response headers worth keeping,
// error text without secrets. Included only by the .cpp files that use libcurl.
#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hydrate::llm {

// curl_global_init, once per process.
void init_curl_once();

// The NO_PROXY list the user configured, plus the loopback hosts: for CURLOPT_NOPROXY, which
// replaces the environment variable, so the user's entries are carried over.
std::string no_proxy_list();

std::string_view trim_space(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

// What the header lines of one answer said: its status, the retry-after headers as sent, and
// the headers HttpResponse::headers keeps (x-request-id, apim-request-id, x-ratelimit-*; names
// lower-cased, values at most 200 bytes, at most 16 of them).
struct HeaderCapture {
  int status = 0;
  std::string retry_after_ms;
  std::string retry_after;
  std::vector<std::pair<std::string, std::string>> kept;
};
// Reads one header line as libcurl's CURLOPT_HEADERFUNCTION hands it over. A status line starts
// a new answer (after a 100 Continue, a redirect) and forgets the previous one's headers.
void capture_header_line(std::string_view line, HeaderCapture& capture);

// The wait the captured retry-after-ms / retry-after headers ask for (parse_retry_after_ms).
std::optional<std::int64_t> retry_after_of(const HeaderCapture& capture);

// Replaces every occurrence of each secret in text with "[redacted]".
void redact(std::string& text, const std::vector<std::string>& secrets);

// What a failed transfer says: the error buffer's detail ("Failed to connect to 127.0.0.1 port
// 9 after 0 ms: Couldn't connect to server") or the code's own text, without the secrets.
std::string describe_curl_error(CURLcode code, std::string_view error_buffer,
                                const std::vector<std::string>& secrets);

}  // namespace hydrate::llm
