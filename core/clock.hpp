#pragma once
// The wall clock, read in one place so logic that needs "now" takes it as a value.
#include <chrono>

#include "core/model.hpp"

namespace hydrate {

inline Millis wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// "2026-01-31T10:00:00Z" for a wall-clock time; empty for 0.
std::string format_utc(Millis when);

}  // namespace hydrate
