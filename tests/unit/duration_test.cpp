// Durations as OpenAI's x-ratelimit-reset-* headers and operators write them (core/duration.hpp).
#include <doctest/doctest.h>

#include "core/duration.hpp"

using hydrate::parse_duration_ms;

TEST_SUITE("duration") {
  TEST_CASE("Go-style durations, as OpenAI's reset headers send them") {
    CHECK(parse_duration_ms("6m0s") == 360000);
    CHECK(parse_duration_ms("1.5s") == 1500);
    CHECK(parse_duration_ms("20ms") == 20);
    CHECK(parse_duration_ms("0s") == 0);
    CHECK(parse_duration_ms("1h2m3.5s") == 3723500);
    CHECK(parse_duration_ms("2m59.56s") == 179560);
    CHECK(parse_duration_ms("30m") == 1800000);
  }

  TEST_CASE("sub-millisecond parts round up: a wait is never shortened") {
    CHECK(parse_duration_ms("250us") == 1);
    CHECK(parse_duration_ms("1ns") == 1);
    CHECK(parse_duration_ms("1.0001ms") == 2);
    CHECK(parse_duration_ms("\xC2\xB5s") == std::nullopt);  // a unit without a number
    CHECK(parse_duration_ms("3\xC2\xB5s") == 1);
  }

  TEST_CASE("a plain number is seconds and blanks around are ignored") {
    CHECK(parse_duration_ms("30") == 30000);
    CHECK(parse_duration_ms("0.5") == 500);
    CHECK(parse_duration_ms("  90s ") == 90000);
  }

  TEST_CASE("malformed text is refused, not read as zero") {
    for (const char* bad : {"", " ", "s", "1x", "-1s", "1s2", "1..5s", "m5", "1 s", "1e3s",
                            "99999999999999999999h"}) {
      CAPTURE(bad);
      CHECK(parse_duration_ms(bad) == std::nullopt);
    }
  }
}
