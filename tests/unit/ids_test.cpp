// Identifiers (core/ids.hpp): ULID job ids sortable by time, lease tokens, trace ids.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "core/ids.hpp"

namespace {

using namespace hydrate;

constexpr Millis kT = 1'767'225'600'000;
const std::string kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

}  // namespace

TEST_CASE("ids: a job id is 26 Crockford base-32 characters") {
  for (int i = 0; i < 100; ++i) {
    std::string id = new_job_id(kT + i);
    REQUIRE(id.size() == 26);
    CHECK(id.find_first_not_of(kCrockford) == std::string::npos);
    CHECK(looks_like_job_id(id));
  }
}

TEST_CASE("ids: job ids sort by creation time, and ids of one millisecond differ") {
  std::vector<std::string> ids;
  for (Millis t : {kT, kT + 1, kT + 1000, kT + 86'400'000, kT + 10'000'000'000}) {
    ids.push_back(new_job_id(t));
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  // The first 10 characters are the time: equal for one millisecond, the rest random.
  std::set<std::string> same_ms;
  for (int i = 0; i < 1000; ++i) same_ms.insert(new_job_id(kT));
  CHECK(same_ms.size() == 1000);
  CHECK(new_job_id(kT).substr(0, 10) == new_job_id(kT).substr(0, 10));
  CHECK(new_job_id(0).substr(0, 10) == "0000000000");
}

TEST_CASE("ids: looks_like_job_id rejects other shapes") {
  std::string id = new_job_id(kT);
  CHECK_FALSE(looks_like_job_id(""));
  CHECK_FALSE(looks_like_job_id(id.substr(0, 25)));
  CHECK_FALSE(looks_like_job_id(id + "0"));
  std::string lower = id;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower != id) CHECK_FALSE(looks_like_job_id(lower));
  for (char excluded : {'I', 'L', 'O', 'U', '-', ' '}) {
    std::string bad = id;
    bad[12] = excluded;
    CAPTURE(excluded);
    CHECK_FALSE(looks_like_job_id(bad));
  }
  CHECK_FALSE(looks_like_job_id("hydrate-" + id));
}

TEST_CASE("ids: lease tokens are 128 random bits in hex, new every time") {
  std::set<std::string> tokens;
  for (int i = 0; i < 1000; ++i) {
    std::string token = new_lease_token();
    REQUIRE(token.size() == 32);
    CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
    tokens.insert(token);
  }
  CHECK(tokens.size() == 1000);
}

TEST_CASE("ids: a trace id is hydrate- and a ULID") {
  std::string trace = new_trace_id(kT);
  REQUIRE(trace.rfind("hydrate-", 0) == 0);
  CHECK(looks_like_job_id(trace.substr(8)));
  CHECK(trace.substr(8, 10) == new_job_id(kT).substr(0, 10));
}
