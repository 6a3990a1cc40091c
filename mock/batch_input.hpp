#pragma once
// Reading a batch's input file (JSONL, one request a line) as OpenAI's validating stage does: the
// requests it holds, or every reason the batch must fail (errors.data of the Batch object).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hydrate::mock {

// One line of a batch input file that passed validation.
struct BatchRequestLine {
  std::int64_t line = 0;  // 1-based, as in the file
  std::string custom_id;
  std::string body;  // the request's "body", as JSON text
};

// One entry of a failed batch's errors.data.
struct BatchError {
  std::string code;  // "invalid_json_line", "duplicate_custom_id", "token_limit_exceeded" …
  std::string message;
  std::optional<std::string> param;
  std::optional<std::int64_t> line;  // 1-based; empty for a problem of the whole file
};

struct BatchInputLimits {
  std::int64_t max_requests = 50000;
  std::int64_t max_bytes = 200LL << 20;
};

struct BatchInput {
  std::vector<BatchRequestLine> requests;  // empty when `errors` is not
  std::vector<BatchError> errors;          // at most kMaxBatchErrors, in line order
  std::string model;  // the model every request names; empty when none names one
};

inline constexpr std::size_t kMaxBatchErrors = 1000;

// The requests of `content`, every line checked: a JSON object, a string custom_id unique in the
// file, method "POST", url equal to `endpoint`, an object body, one model for the whole file; a
// file over the limits fails as a whole. Blank lines are skipped. A body that is no valid chat
// request is no problem here: that request is answered 400 in the error file.
BatchInput read_batch_input(std::string_view content, std::string_view endpoint,
                            const BatchInputLimits& limits);

}  // namespace hydrate::mock
