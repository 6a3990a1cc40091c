// The admin API's pure parts (core/admin_api.hpp): which paths are the API's, and the bearer
// token check. The handlers themselves run against real stores in e2e/serve_api.sh.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/admin_api.hpp"

using hydrate::api::is_api_path;
using hydrate::api::token_matches;

TEST_CASE("admin api: the paths it serves") {
  CHECK(is_api_path("/api/admin/hydrateAll"));
  CHECK(is_api_path("/api/admin/hydrateAll/"));
  CHECK(is_api_path("/api/admin/hydrateAll/01KG0000000000000000000000/export"));
  CHECK_FALSE(is_api_path("/api/admin/hydrateAllX"));
  CHECK_FALSE(is_api_path("/api/admin"));
  CHECK_FALSE(is_api_path("/metrics"));
  CHECK_FALSE(is_api_path(""));
}

TEST_CASE("admin api: a bearer token matches one of the tokens exactly") {
  const std::vector<std::string> tokens = {"old-token", "s3cret-token"};
  CHECK(token_matches("Bearer s3cret-token", tokens));
  CHECK(token_matches("Bearer old-token", tokens));
  CHECK(token_matches("bearer s3cret-token", tokens));  // the scheme is case-insensitive
  CHECK_FALSE(token_matches("Bearer s3cret-tokeN", tokens));
  CHECK_FALSE(token_matches("Bearer s3cret-token ", tokens));
  CHECK_FALSE(token_matches("Bearer s3cret-toke", tokens));
  CHECK_FALSE(token_matches("Bearer s3cret-token-longer", tokens));
  CHECK_FALSE(token_matches("Basic s3cret-token", tokens));
  CHECK_FALSE(token_matches("s3cret-token", tokens));
  CHECK_FALSE(token_matches("Bearer ", tokens));
  CHECK_FALSE(token_matches("", tokens));
  CHECK_FALSE(token_matches("Bearer ", {""}));  // an empty token never matches
  CHECK_FALSE(token_matches("Bearer anything", {}));
}
