// The requests- and tokens-per-minute budget (core/engine/rate_budget.hpp) over a sliding
// 60-second window.
#include <doctest/doctest.h>

#include "core/engine/rate_budget.hpp"

namespace {

using hydrate::Millis;
using hydrate::engine::RateBudget;

constexpr Millis kT = 1'767'225'600'000;

}  // namespace

TEST_CASE("rate budget: requests per minute") {
  RateBudget budget(2, 0);
  CHECK(budget.try_take(kT, 100));
  CHECK(budget.try_take(kT + 10, 100));
  CHECK_FALSE(budget.try_take(kT + 20, 100));
  CHECK(budget.next_opening(kT + 20) == kT + 60000);
  CHECK_FALSE(budget.try_take(kT + 59999, 100));
  // The first request leaves the window 60 s after it was made.
  CHECK(budget.try_take(kT + 60000, 100));
  CHECK_FALSE(budget.try_take(kT + 60001, 100));
  CHECK(budget.try_take(kT + 60010, 100));
}

TEST_CASE("rate budget: tokens per minute") {
  RateBudget budget(0, 1000);
  CHECK(budget.try_take(kT, 600));
  CHECK_FALSE(budget.try_take(kT + 1, 500));  // 1100 would pass the budget
  CHECK(budget.try_take(kT + 2, 400));        // exactly 1000 fits
  CHECK_FALSE(budget.try_take(kT + 3, 1));
  CHECK(budget.next_opening(kT + 3) == kT + 60000);
  CHECK(budget.try_take(kT + 60000, 500));  // the 600 expired; 400 + 500 fit
}

TEST_CASE("rate budget: a single request larger than the budget passes on an empty window") {
  RateBudget budget(0, 1000);
  CHECK(budget.try_take(kT, 5000));
  CHECK_FALSE(budget.try_take(kT + 1, 1));
  CHECK(budget.try_take(kT + 60000, 5000));
}

TEST_CASE("rate budget: a refused request is not counted") {
  RateBudget budget(1, 100);
  CHECK(budget.try_take(kT, 50));
  for (int i = 1; i <= 10; ++i) CHECK_FALSE(budget.try_take(kT + i, 10));
  CHECK(budget.try_take(kT + 60000, 100));
}

TEST_CASE("rate budget: zero limits mean unlimited") {
  RateBudget budget(0, 0);
  int taken = 0;
  for (int i = 0; i < 10000; ++i) taken += budget.try_take(kT, 1'000'000) ? 1 : 0;
  CHECK(taken == 10000);
}

TEST_CASE("rate budget: next_opening is now when the window is empty or has room") {
  RateBudget budget(5, 0);
  CHECK(budget.next_opening(kT) == kT);
  CHECK(budget.try_take(kT, 1));
  CHECK(budget.next_opening(kT + 70000) == kT + 70000);
}
