#include "mock/batch_replies.hpp"

#include <algorithm>

namespace hydrate::mock {

Reply request_error(int status, std::string message, std::optional<std::string> param,
                    std::optional<std::string> code) {
  return error_reply(
      {status, std::move(message), "invalid_request_error", std::move(param), std::move(code)}, {});
}

Reply missing_parameter(const std::string& param) {
  return request_error(400, "Missing required parameter: '" + param + "'.", param,
                       "missing_required_parameter");
}

Reply wrong_parameter_type(const std::string& param, const std::string& expected) {
  return request_error(400, "Invalid type for '" + param + "': expected " + expected + ".", param,
                       "invalid_type");
}

Reply object_reply(const Json& object) {
  Reply reply;
  reply.body = object.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

std::optional<std::int64_t> read_list_limit(const std::optional<std::string>& text,
                                            std::int64_t fallback, std::int64_t most) {
  if (!text) return fallback;
  if (text->empty() || text->size() > 9 ||
      !std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const std::int64_t limit = std::stoll(*text);
  if (limit < 1 || limit > most) return std::nullopt;
  return limit;
}

Reply bad_list_limit(std::int64_t most) {
  return request_error(
      400, "Invalid 'limit': expected an integer between 1 and " + std::to_string(most) + ".",
      "limit", "invalid_value");
}

std::string with_commas(std::int64_t number) {
  std::string digits = std::to_string(number);
  for (auto at = static_cast<std::ptrdiff_t>(digits.size()) - 3; at > 0; at -= 3) {
    digits.insert(static_cast<std::size_t>(at), ",");
  }
  return digits;
}

}  // namespace hydrate::mock
