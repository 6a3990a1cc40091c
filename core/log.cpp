#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <string>

namespace hydrate::log {
namespace {
std::atomic<Level> current{Level::info};
}

void set_level(Level level) {
  current = level;
}
Level level() {
  return current;
}

void write(Level, std::string_view line) {
  std::string text = "hydrate: " + std::string(line) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace hydrate::log
