#include "core/clock.hpp"

#include <ctime>
#include <string>

namespace hydrate {

std::string format_utc(Millis when) {
  if (when <= 0) return {};
  std::time_t seconds = static_cast<std::time_t>(when / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

}  // namespace hydrate
