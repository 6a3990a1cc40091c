// The JSONL lines of the Batch API (BATCH.md): request lines out, output and error lines in, and
// the batch statuses. Pure functions; nlohmann::json stays in this file and batch_objects.cpp.
#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <string_view>

#include "core/llm/batch_client.hpp"
#include "core/text_guard.hpp"

namespace hydrate::llm {
namespace {

using nlohmann::json;

constexpr const char* kChatEndpoint = "/v1/chat/completions";
// A line wraps a chat completion (4 levels) in 2 more; anything past this is refused unparsed.
constexpr int kMaxLineDepth = 64;

constexpr std::array<std::pair<BatchStatus, const char*>, 8> kStatusNames = {{
    {BatchStatus::validating, "validating"},
    {BatchStatus::failed, "failed"},
    {BatchStatus::in_progress, "in_progress"},
    {BatchStatus::finalizing, "finalizing"},
    {BatchStatus::completed, "completed"},
    {BatchStatus::expired, "expired"},
    {BatchStatus::cancelling, "cancelling"},
    {BatchStatus::cancelled, "cancelled"},
}};

Error bad_line(const std::string& what) {
  return make_error(ErrorKind::permanent, one_line("batch output line " + what));
}

std::string string_field(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// response: {"status_code", "request_id", "body"} into line.response, as an online answer.
Status read_response(const json& response, BatchLine& line) {
  const auto status = response.find("status_code");
  if (status == response.end() || !status->is_number_integer() || *status < 100 || *status > 599) {
    return bad_line("of " + line.custom_id + " has a response without a valid status_code");
  }
  line.status_code = status->get<int>();
  line.response.status = line.status_code;
  const auto body = response.find("body");
  if (body != response.end() && !body->is_null()) {
    line.response.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  const std::string request_id = string_field(response, "request_id");
  if (!request_id.empty()) line.response.headers.emplace_back("x-request-id", request_id);
  return ok_status();
}

}  // namespace

std::string batch_request_line(const std::string& custom_id, const ChatRequest& request) {
  // The body is spliced in as build_chat_body wrote it, byte for byte.
  const json head = {{"custom_id", custom_id}, {"method", "POST"}, {"url", kChatEndpoint}};
  std::string line = head.dump(-1, ' ', false, json::error_handler_t::replace);
  line.pop_back();  // the closing brace
  line += R"(,"body":)";
  line += build_chat_body(request);
  line += '}';
  return line;
}

Result<BatchLine> parse_batch_line(std::string_view text) {
  if (json_nesting_depth(text, kMaxLineDepth) > kMaxLineDepth) {
    return bad_line("nests deeper than " + std::to_string(kMaxLineDepth) + " levels");
  }
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return bad_line("is not a JSON object: " + std::string(text.substr(0, 80)));
  }
  BatchLine line;
  line.custom_id = string_field(parsed, "custom_id");
  if (line.custom_id.empty()) return bad_line("has no custom_id");
  line.line_id = string_field(parsed, "id");
  const auto response = parsed.find("response");
  const bool has_response = response != parsed.end() && !response->is_null();
  if (has_response) {
    if (!response->is_object()) return bad_line("of " + line.custom_id + " has a bad response");
    HYDRATE_TRY(read_response(*response, line));
  }
  const auto error = parsed.find("error");
  const bool has_error = error != parsed.end() && !error->is_null();
  if (has_error) {
    if (!error->is_object()) return bad_line("of " + line.custom_id + " has a bad error");
    line.error_code = one_line(string_field(*error, "code"));
    line.error_message = one_line(string_field(*error, "message"));
    if (line.error_code.empty()) line.error_code = "unknown_error";
  }
  if (!has_response && !has_error) {
    return bad_line("of " + line.custom_id + " has neither response nor error");
  }
  if (!has_response) {
    // No HTTP answer: interpret_response sees a request that was never answered, and says why.
    line.response.transport_error =
        one_line("batch line " + line.error_code +
                 (line.error_message.empty() ? "" : ": " + line.error_message));
  }
  return line;
}

const char* to_string(BatchStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

std::optional<BatchStatus> parse_batch_status(std::string_view text) {
  for (const auto& [value, name] : kStatusNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

bool is_final(BatchStatus status) {
  return status == BatchStatus::failed || status == BatchStatus::completed ||
         status == BatchStatus::expired || status == BatchStatus::cancelled;
}

}  // namespace hydrate::llm
