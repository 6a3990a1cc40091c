#pragma once
// Durations as providers and operators write them: Go's time.Duration text ("6m0s", "1.5s",
// "20ms", "1h2m3.5s", "250us"), which OpenAI's x-ratelimit-reset-* headers use, and a plain
// number of seconds ("30", "0.5"). Pure.
#include <optional>
#include <string_view>

#include "core/model.hpp"

namespace hydrate {

// The duration in milliseconds, rounded up to a whole millisecond (a wait is never shortened);
// nullopt for empty, negative, malformed text or one past ~292 million years. Units: h, m, s,
// ms, us (µs), ns; surrounding blanks are ignored.
std::optional<Millis> parse_duration_ms(std::string_view text);

}  // namespace hydrate
