// BatchApi's Files API: uploads (multipart, purpose checked as OpenAI checks it), retrieval,
// content, deletion and the list, over the endpoint's FileStore.
#include <algorithm>
#include <array>

#include "mock/batch_api.hpp"
#include "mock/batch_replies.hpp"

namespace hydrate::mock {
namespace {

constexpr std::array<const char*, 6> kUploadPurposes = {"assistants", "batch",     "fine-tune",
                                                        "vision",     "user_data", "evals"};

Reply no_such_file(const std::string& id) {
  return request_error(404, "No such File object: " + id, "id");
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

// --- files --------------------------------------------------------------------------------

Reply BatchApi::upload_file(const Upload& upload) {
  if (!upload.multipart) {
    return request_error(400,
                         "The request must be multipart/form-data, with the fields 'file' and "
                         "'purpose'.");
  }
  if (!upload.content) return missing_parameter("file");
  if (!upload.purpose) return missing_parameter("purpose");
  const std::string& purpose = *upload.purpose;
  if (std::find(kUploadPurposes.begin(), kUploadPurposes.end(), purpose) == kUploadPurposes.end()) {
    return request_error(
        400, "'" + purpose + "' is not one of " + quoted_names(kUploadPurposes) + " - 'purpose'",
        "purpose", "invalid_value");
  }
  const std::string filename = upload.filename.value_or("upload");
  if (purpose == "batch" && !ends_with(filename, ".jsonl")) {
    return request_error(400, "Invalid file format for Batch API. Must be .jsonl", "file",
                         "invalid_file_format");
  }
  const std::int64_t now = unix_clock_.at(clock_());
  const StoredFile file =
      files_.add(filename, purpose, *upload.content, now,
                 purpose == "batch" ? std::optional(now + kBatchFileLifetime) : std::nullopt);
  Reply reply;
  reply.body = file_json(file);
  return reply;
}

Reply BatchApi::retrieve_file(const std::string& id) const {
  const auto file = files_.find(id);
  if (!file) return no_such_file(id);
  Reply reply;
  reply.body = file_json(*file);
  return reply;
}

Reply BatchApi::file_content(const std::string& id) const {
  const auto file = files_.find(id);
  if (!file) return no_such_file(id);
  Reply reply;
  reply.body = *file->content;
  reply.content_type = "application/octet-stream";
  return reply;
}

Reply BatchApi::delete_file(const std::string& id) {
  if (!files_.remove(id)) return no_such_file(id);
  return object_reply({{"id", id}, {"object", "file"}, {"deleted", true}});
}

Reply BatchApi::list_files(const ListQuery& query) const {
  constexpr std::int64_t kMost = 10000;
  const auto limit = read_list_limit(query.limit, kMost, kMost);
  if (!limit) return bad_list_limit(kMost);
  const std::string order = query.order.value_or("desc");
  if (order != "asc" && order != "desc") {
    return request_error(400, "Invalid 'order': expected 'asc' or 'desc'.", "order",
                         "invalid_value");
  }
  std::vector<StoredFile> files = files_.newest_first(query.purpose.value_or(""));
  if (order == "asc") std::reverse(files.begin(), files.end());
  auto from = files.begin();
  if (query.after) {
    from = std::find_if(files.begin(), files.end(),
                        [&](const StoredFile& file) { return file.id == *query.after; });
    if (from == files.end()) return no_such_file(*query.after);
    ++from;
  }
  const auto count = std::min<std::int64_t>(*limit, files.end() - from);
  Json data = Json::array();
  for (auto file = from; file != from + count; ++file)
    data.push_back(Json::parse(file_json(*file)));
  Json list = {{"object", "list"}, {"data", data}};
  list["first_id"] = count > 0 ? Json(from->id) : Json(nullptr);
  list["last_id"] = count > 0 ? Json((from + count - 1)->id) : Json(nullptr);
  list["has_more"] = from + count != files.end();
  return object_reply(list);
}

// --- batches

}  // namespace hydrate::mock
