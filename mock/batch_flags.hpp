#pragma once
// The flags of the Batch API (/v1/files, /v1/batches): how long a batch's stages last, OpenAI's
// limits on an input file and the enqueued tokens, and the batch faults.
#include <CLI/CLI.hpp>

#include "mock/options.hpp"

namespace hydrate::mock {

// Adds --batch-validating-ms, --batch-ms, --batch-finalizing-ms, --batch-cancelling-ms,
// --batch-rate-failed, --batch-rate-expired, --batch-rate-error-line,
// --batch-rate-slow-finalizing, --batch-slow-finalizing-ms, --batch-token-limit,
// --batch-max-requests and --batch-max-bytes; values land in `options`.
void define_batch_flags(CLI::App& app, BatchOptions& options);

}  // namespace hydrate::mock
