#include "mock/batch_input.hpp"

#include <unordered_set>

#include "mock/batch_replies.hpp"
#include "mock/schema_keywords.hpp"

namespace hydrate::mock {
namespace {

BatchError line_error(std::string code, std::string message, std::optional<std::string> param,
                      std::int64_t line) {
  return {std::move(code), std::move(message), std::move(param), line};
}

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

BatchInput read_batch_input(std::string_view content, std::string_view endpoint,
                            const BatchInputLimits& limits) {
  BatchInput input;
  if (static_cast<std::int64_t>(content.size()) > limits.max_bytes) {
    input.errors.push_back({"file_too_large",
                            "The input file is " +
                                with_commas(static_cast<std::int64_t>(content.size())) +
                                " bytes; a batch input file may have at most " +
                                with_commas(limits.max_bytes) + " bytes.",
                            std::nullopt, std::nullopt});
    return input;
  }
  std::unordered_set<std::string> custom_ids;
  std::int64_t line_number = 0;
  std::int64_t requests = 0;
  const auto add_error = [&input](BatchError error) {
    if (input.errors.size() < kMaxBatchErrors) input.errors.push_back(std::move(error));
  };
  for (std::size_t start = 0; start < content.size();) {
    std::size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    const std::string_view text = content.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (blank(text)) continue;
    ++requests;
    const Json line = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (line.is_discarded() || !line.is_object()) {
      add_error(line_error("invalid_json_line", "This line is not parseable as valid JSON.",
                           std::nullopt, line_number));
      continue;
    }
    const auto custom_id = line.find("custom_id");
    if (custom_id == line.end() || !custom_id->is_string()) {
      add_error(line_error("missing_required_parameter",
                           "Missing required parameter: 'custom_id' (a string).", "custom_id",
                           line_number));
      continue;
    }
    const std::string& id = custom_id->get_ref<const std::string&>();
    if (!custom_ids.insert(id).second) {
      add_error(line_error("duplicate_custom_id",
                           "The custom_id for this request is a duplicate of another request. "
                           "The custom_id parameter must be unique for each request in a batch.",
                           "custom_id", line_number));
      continue;
    }
    const auto method = line.find("method");
    if (method == line.end() || *method != "POST") {
      add_error(line_error("invalid_method",
                           "The method of this request is not supported: only 'POST' is.", "method",
                           line_number));
      continue;
    }
    const auto url = line.find("url");
    if (url == line.end() || !url->is_string() || *url != endpoint) {
      add_error(line_error("invalid_url",
                           "The url of this request does not match the batch's endpoint '" +
                               std::string(endpoint) + "'.",
                           "url", line_number));
      continue;
    }
    const auto body = line.find("body");
    if (body == line.end() || !body->is_object()) {
      add_error(line_error("missing_required_parameter",
                           "Missing required parameter: 'body' (an object).", "body", line_number));
      continue;
    }
    const auto model = body->find("model");
    if (model != body->end() && model->is_string()) {
      const std::string& name = model->get_ref<const std::string&>();
      if (input.model.empty()) {
        input.model = name;
      } else if (name != input.model) {
        add_error(line_error("mismatched_model",
                             "The model of this request ('" + name +
                                 "') differs from the model of the batch's other requests ('" +
                                 input.model + "'): a batch runs one model.",
                             "body.model", line_number));
        continue;
      }
    }
    input.requests.push_back(
        {line_number, id, body->dump(-1, ' ', false, Json::error_handler_t::replace)});
  }
  if (requests > limits.max_requests) {
    input.errors.insert(input.errors.begin(), {"too_many_requests",
                                               "The input file has " + with_commas(requests) +
                                                   " requests; a batch may have at most " +
                                                   with_commas(limits.max_requests) + ".",
                                               std::nullopt, std::nullopt});
    if (input.errors.size() > kMaxBatchErrors) input.errors.pop_back();
  }
  if (requests == 0) {
    input.errors.push_back(
        {"empty_file", "The input file has no requests.", std::nullopt, std::nullopt});
  }
  if (!input.errors.empty()) input.requests.clear();
  return input;
}

}  // namespace hydrate::mock
