#pragma once
// The files of the Files API (/v1/files), kept in memory: what clients upload for a batch and the
// output and error files batches write. Thread-safe; a file's content is shared, never copied, so
// a batch can keep reading its input after the file is deleted.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hydrate::mock {

struct StoredFile {
  std::string id;  // "file-" and 24 letters and digits
  std::string filename;
  std::string purpose;          // "batch", "batch_output", "user_data" …
  std::int64_t created_at = 0;  // Unix seconds
  std::optional<std::int64_t> expires_at;
  std::shared_ptr<const std::string> content;
};

// The OpenAIFile object: {"id","object":"file","bytes","created_at","expires_at","filename",
// "purpose","status":"processed","status_details":null}.
std::string file_json(const StoredFile& file);

class FileStore {
 public:
  explicit FileStore(std::uint64_t seed) : seed_(seed) {}

  // Stores a file under a new id, derived from the seed and how many ids came before (so one
  // run's ids repeat in the next). Returns the stored file.
  StoredFile add(std::string filename, std::string purpose, std::string content,
                 std::int64_t created_at, std::optional<std::int64_t> expires_at);
  // The file, or empty when no file has this id (or it was deleted).
  std::optional<StoredFile> find(const std::string& id) const;
  // False when no file has this id.
  bool remove(const std::string& id);
  // Files newest first (the most recently added first), those with `purpose` only when it is
  // not empty.
  std::vector<StoredFile> newest_first(const std::string& purpose) const;

 private:
  const std::uint64_t seed_;
  mutable std::mutex mutex_;
  std::uint64_t added_ = 0;
  std::map<std::string, StoredFile> files_;
  std::vector<std::string> order_;  // ids in the order they were added
};

}  // namespace hydrate::mock
