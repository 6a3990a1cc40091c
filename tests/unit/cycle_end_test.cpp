// CycleEnd: what ends the batch cycle's wait between visits when the online worker is done.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/engine/batch_cycle.hpp"

using hydrate::engine::CycleEnd;
using Clock = std::chrono::steady_clock;

TEST_SUITE("batch cycle: its end") {
  TEST_CASE("a wait ends when the end is set from another thread, not at its timeout") {
    CycleEnd end;
    CHECK_FALSE(end.is_set());
    std::atomic<bool> waiting{false};
    Clock::duration waited{};
    std::thread waiter([&] {
      waiting = true;
      const auto start = Clock::now();
      end.wait_for(600000);  // ten minutes: ctest's timeout comes first if set() is not heard
      waited = Clock::now() - start;
    });
    for (int i = 0; i < 6000 && !waiting; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(waiting);
    end.set();
    waiter.join();
    CHECK(end.is_set());
    CHECK(waited < std::chrono::minutes(5));
  }

  TEST_CASE("once set, every wait returns at once; unset, a wait lasts its timeout") {
    CycleEnd end;
    auto start = Clock::now();
    end.wait_for(30);
    CHECK(Clock::now() - start >= std::chrono::milliseconds(30));
    end.set();
    start = Clock::now();
    for (int i = 0; i < 100; ++i) end.wait_for(600000);
    CHECK(Clock::now() - start < std::chrono::minutes(5));
  }
}
