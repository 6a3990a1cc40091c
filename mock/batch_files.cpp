#include "mock/batch_files.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "mock/hash.hpp"
#include "mock/wire.hpp"

namespace hydrate::mock {

std::string file_json(const StoredFile& file) {
  const nlohmann::ordered_json object = {
      {"id", file.id},
      {"object", "file"},
      {"bytes", file.content ? file.content->size() : 0},
      {"created_at", file.created_at},
      {"expires_at", file.expires_at ? nlohmann::ordered_json(*file.expires_at) : nullptr},
      {"filename", file.filename},
      {"purpose", file.purpose},
      {"status", "processed"},
      {"status_details", nullptr}};
  return object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

StoredFile FileStore::add(std::string filename, std::string purpose, std::string content,
                          std::int64_t created_at, std::optional<std::int64_t> expires_at) {
  StoredFile file;
  file.filename = std::move(filename);
  file.purpose = std::move(purpose);
  file.created_at = created_at;
  file.expires_at = expires_at;
  file.content = std::make_shared<const std::string>(std::move(content));
  const std::lock_guard lock(mutex_);
  file.id = "file-" + derived_alnum(Hasher(seed_).add("file").add(++added_).value(), 24);
  files_[file.id] = file;
  order_.push_back(file.id);
  return file;
}

std::optional<StoredFile> FileStore::find(const std::string& id) const {
  const std::lock_guard lock(mutex_);
  const auto found = files_.find(id);
  if (found == files_.end()) return std::nullopt;
  return found->second;
}

bool FileStore::remove(const std::string& id) {
  const std::lock_guard lock(mutex_);
  if (files_.erase(id) == 0) return false;
  order_.erase(std::find(order_.begin(), order_.end(), id));
  return true;
}

std::vector<StoredFile> FileStore::newest_first(const std::string& purpose) const {
  const std::lock_guard lock(mutex_);
  std::vector<StoredFile> out;
  for (auto id = order_.rbegin(); id != order_.rend(); ++id) {
    const StoredFile& file = files_.at(*id);
    if (purpose.empty() || file.purpose == purpose) out.push_back(file);
  }
  return out;
}

}  // namespace hydrate::mock
