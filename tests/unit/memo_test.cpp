// Memo: a value is made once per key, and a full memo forgets everything and makes again.
#include <doctest/doctest.h>

#include <string>

#include "core/memo.hpp"

TEST_SUITE("memo") {
  TEST_CASE("a key's value is made once; past the capacity all are made again") {
    hydrate::Memo<int, std::string> memo(2);
    int made = 0;
    auto make = [&](int key) {
      return [&made, key] {
        ++made;
        return "value " + std::to_string(key);
      };
    };
    CHECK(memo.get(1, make(1)) == "value 1");
    CHECK(memo.get(1, make(1)) == "value 1");
    CHECK(memo.get(2, make(2)) == "value 2");
    CHECK(made == 2);
    CHECK(memo.get(3, make(3)) == "value 3");  // full: 1 and 2 are forgotten
    CHECK(made == 3);
    CHECK(memo.get(3, make(3)) == "value 3");
    CHECK(memo.get(1, make(1)) == "value 1");
    CHECK(made == 4);
  }
}
