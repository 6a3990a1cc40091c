#include "core/llm/batch_objects.hpp"

#include <nlohmann/json.hpp>

#include "core/text_guard.hpp"

namespace hydrate::llm {
namespace {

using nlohmann::json;

// A list of 100 batches nests 5 levels deep; anything far past it is refused unparsed.
constexpr int kMaxObjectDepth = 32;

Error not_the_object(const std::string& what, const std::string& why) {
  return make_error(ErrorKind::permanent, one_line("the answer is not " + what + ": " + why));
}

// The body parsed as a JSON object of type `object` (when the body names its type at all).
Result<json> read_object(std::string_view body, const char* object, const std::string& what) {
  if (json_nesting_depth(body, kMaxObjectDepth) > kMaxObjectDepth) {
    return not_the_object(what, "it nests too deep");
  }
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return not_the_object(what, "not JSON");
  if (!parsed.is_object()) return not_the_object(what, "not a JSON object");
  const auto type = parsed.find("object");
  if (type != parsed.end() && !type->is_null() && *type != object) {
    return not_the_object(what, "its object is " + type->dump());
  }
  return parsed;
}

std::string text_at(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::int64_t count_at(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_number_integer() ? found->get<std::int64_t>() : 0;
}

Result<BatchInfo> read_batch(const json& object) {
  const std::string what = "a Batch object";
  if (!object.is_object()) return not_the_object(what, "not a JSON object");
  BatchInfo info;
  info.id = text_at(object, "id");
  if (info.id.empty()) return not_the_object(what, "no id");
  const std::string status = text_at(object, "status");
  const auto parsed_status = parse_batch_status(status);
  if (!parsed_status) return not_the_object(what, "unknown status '" + status + "'");
  info.status = *parsed_status;
  info.input_file_id = text_at(object, "input_file_id");
  info.output_file_id = text_at(object, "output_file_id");
  info.error_file_id = text_at(object, "error_file_id");
  info.created_at = count_at(object, "created_at");
  if (const auto counts = object.find("request_counts");
      counts != object.end() && counts->is_object()) {
    info.total = count_at(*counts, "total");
    info.completed = count_at(*counts, "completed");
    info.failed = count_at(*counts, "failed");
  }
  if (const auto errors = object.find("errors"); errors != object.end() && errors->is_object()) {
    const auto data = errors->find("data");
    for (const json& error : data != errors->end() && data->is_array() ? *data : json::array()) {
      if (!error.is_object()) continue;
      BatchError entry{one_line(text_at(error, "code")), one_line(text_at(error, "message")),
                       std::nullopt};
      if (const auto line = error.find("line"); line != error.end() && line->is_number_integer()) {
        entry.line = line->get<std::int64_t>();
      }
      info.errors.push_back(std::move(entry));
    }
  }
  if (const auto metadata = object.find("metadata");
      metadata != object.end() && metadata->is_object()) {
    for (const auto& [key, value] : metadata->items()) {
      info.metadata.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return info;
}

}  // namespace

Result<BatchInfo> parse_batch_object(std::string_view body) {
  auto object = read_object(body, "batch", "a Batch object");
  if (!object) return object.error();
  return read_batch(*object);
}

Result<BatchPage> parse_batch_list(std::string_view body) {
  const std::string what = "a list of batches";
  auto object = read_object(body, "list", what);
  if (!object) return object.error();
  const auto data = object->find("data");
  if (data == object->end() || !data->is_array()) return not_the_object(what, "no data array");
  BatchPage page;
  for (const json& item : *data) {
    auto batch = read_batch(item);
    if (!batch) return batch.error();
    page.batches.push_back(std::move(*batch));
  }
  const auto has_more = object->find("has_more");
  page.has_more = has_more != object->end() && has_more->is_boolean() && has_more->get<bool>();
  page.last_id = text_at(*object, "last_id");
  if (page.last_id.empty() && !page.batches.empty()) page.last_id = page.batches.back().id;
  if (page.has_more && page.last_id.empty()) return not_the_object(what, "has_more without ids");
  return page;
}

Result<std::string> parse_file_id(std::string_view body) {
  auto object = read_object(body, "file", "a File object");
  if (!object) return object.error();
  std::string id = text_at(*object, "id");
  if (id.empty()) return not_the_object("a File object", "no id");
  return id;
}

Result<bool> parse_file_deleted(std::string_view body) {
  auto object = read_object(body, "file", "a deleted File object");
  if (!object) return object.error();
  const auto deleted = object->find("deleted");
  if (deleted == object->end() || !deleted->is_boolean()) {
    return not_the_object("a deleted File object", "no deleted flag");
  }
  return deleted->get<bool>();
}

}  // namespace hydrate::llm
