#pragma once
// The Prometheus exposition hydrate metrics and hydrate reconcile --metrics-file write: read
// from the store at the time of the call, and written to a file atomically (node_exporter's
// textfile collector must never read a half-written file).
#include <string>

#include "core/config.hpp"
#include "core/result.hpp"
#include "core/store/store.hpp"

namespace hydrate::cli {

// The exposition of every family, its gauges computed now with reconcile.stuck_after (or
// stuck_after_ms when >= 0) as the stuck threshold.
Result<std::string> metrics_exposition(store::Store& store, const Config& config,
                                       long long stuck_after_ms = -1);

// Writes text to PATH.tmp.PID, then renames it over path, so a reader sees the old file or the
// new one, never a part. Throws Failure (exit 1) naming path when either step fails; the
// temporary file is removed then and path is left as it was.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace hydrate::cli
