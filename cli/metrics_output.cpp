#include "cli/metrics_output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/common.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"

namespace hydrate::cli {

Result<std::string> metrics_exposition(store::Store& store, const Config& config,
                                       long long stuck_after_ms) {
  if (stuck_after_ms < 0) {
    auto configured = config.get_duration_ms("reconcile.stuck_after", 0, 6'000'000'000LL);
    if (!configured) return configured.error();
    stuck_after_ms = *configured;
  }
  auto samples = store.read_metrics(wall_clock_ms(), stuck_after_ms);
  if (!samples) return samples.error();
  return metrics::render_prometheus(*samples);
}

void write_file_atomically(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  auto failed = [&](const char* step) {
    int error = errno;
    std::remove(temporary.c_str());
    throw Failure(kFailure, "cannot write metrics file '" + path + "' (" + step +
                                "): " + std::strerror(error));
  };
  std::FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) failed("create");
  bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  written = std::fflush(file) == 0 && written;
  written = ::fsync(::fileno(file)) == 0 && written;
  if (std::fclose(file) != 0 || !written) failed("write");
  if (std::rename(temporary.c_str(), path.c_str()) != 0) failed("rename");
}

}  // namespace hydrate::cli
