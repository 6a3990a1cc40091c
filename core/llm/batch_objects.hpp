#pragma once
// The objects the Files and Batches API answer with (batch-api.yaml: Batch, ListBatchesResponse,
// OpenAIFile, DeleteFileResponse), read from a 2xx body. Pure; the BatchClient's parsing half.
// Each returns a permanent Error, one line, when the body is not the object asked for.
#include <string>
#include <string_view>

#include "core/llm/batch_client.hpp"

namespace hydrate::llm {

// A Batch object: id and a known status are required, the rest defaults when absent or null.
Result<BatchInfo> parse_batch_object(std::string_view body);
// A list of Batch objects; last_id falls back to the last batch's id when the server sends none.
Result<BatchPage> parse_batch_list(std::string_view body);
// A File object's id.
Result<std::string> parse_file_id(std::string_view body);
// A DeleteFileResponse's `deleted`.
Result<bool> parse_file_deleted(std::string_view body);

}  // namespace hydrate::llm
