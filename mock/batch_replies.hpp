#pragma once
// The answers the Batch API's routes share: OpenAI's 400s for a request's parameters, JSON
// objects as replies, and the reading of a list route's limit.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mock/faults.hpp"
#include "mock/schema_keywords.hpp"

namespace hydrate::mock {

// How long a file of purpose batch or batch_output lives, by default: 30 days.
inline constexpr std::int64_t kBatchFileLifetime = 30 * 24 * 3600;

// An invalid_request_error with this status.
Reply request_error(int status, std::string message,
                    std::optional<std::string> param = std::nullopt,
                    std::optional<std::string> code = std::nullopt);
// 400 missing_required_parameter naming `param`.
Reply missing_parameter(const std::string& param);
// 400 invalid_type: `param` is not `expected` ("a string").
Reply wrong_parameter_type(const std::string& param, const std::string& expected);
// 200 with `object` as its JSON body.
Reply object_reply(const Json& object);

// A list route's limit: `fallback` when absent; empty when it is not an integer from 1 to `most`
// (then send bad_list_limit).
std::optional<std::int64_t> read_list_limit(const std::optional<std::string>& text,
                                            std::int64_t fallback, std::int64_t most);
Reply bad_list_limit(std::int64_t most);

// "['a', 'b']", as OpenAI lists the values it accepts.
template <typename Names>
std::string quoted_names(const Names& names) {
  std::string out;
  for (const char* name : names) out += std::string(out.empty() ? "" : ", ") + "'" + name + "'";
  return "[" + out + "]";
}
// 2000000 as "2,000,000".
std::string with_commas(std::int64_t number);

}  // namespace hydrate::mock
