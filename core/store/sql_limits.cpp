// The SQL store: what workers learn about endpoints and share through the database — the
// structured-output mode that works, and the account's rate-limit bucket.
#include "core/store/sql_store_impl.hpp"

namespace hydrate::store::sql {

Status SqlStore::remember_output_mode(const std::string& endpoint, const std::string& model,
                                      const std::string& mode, Millis now) {
  return write("remembering the endpoint's output mode", [&]() -> Status {
    run("INSERT INTO endpoint_modes (endpoint, model, response_format, updated_at) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (endpoint, model) DO UPDATE SET "
        "response_format = excluded.response_format, updated_at = excluded.updated_at",
        params(endpoint, model, mode, now));
    return ok_status();
  });
}

Result<RateGrant> SqlStore::take_rate(const RateRequest& request) {
  return write("taking from the rate limit", [&]() -> Result<RateGrant> {
    const bool postgres = db_->backend() == Backend::postgres;
    // The row lock (PostgreSQL) or the write lock (SQLite) serialises the workers' takes.
    auto rows = run(std::string("SELECT requests_per_minute, tokens_per_minute, "
                                "requests_available, tokens_available, refilled_at, "
                                "blocked_until FROM rate_limits WHERE name = ?1") +
                        (postgres ? " FOR UPDATE" : ""),
                    params(request.name));
    RateBucketState state;
    if (!rows.empty()) {
      const Row& row = rows.front();
      state = {true,        row.int64(0), row.int64(1), row.real(2),
               row.real(3), row.int64(4), row.int64(5)};
    }
    RateGrant grant = take_from_bucket(state, request);
    run("INSERT INTO rate_limits (name, requests_per_minute, tokens_per_minute, "
        "requests_available, tokens_available, refilled_at, blocked_until) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET "
        "requests_per_minute = excluded.requests_per_minute, "
        "tokens_per_minute = excluded.tokens_per_minute, "
        "requests_available = excluded.requests_available, "
        "tokens_available = excluded.tokens_available, refilled_at = excluded.refilled_at, "
        "blocked_until = excluded.blocked_until",
        params(request.name, state.header_rpm, state.header_tpm, state.requests, state.tokens,
               state.refilled_at, state.blocked_until));
    return grant;
  });
}

}  // namespace hydrate::store::sql
