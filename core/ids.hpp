#pragma once
// Identifiers: job ids are ULIDs (26 Crockford base-32 characters, sortable by creation time);
// lease tokens are 128 random bits in hex, new on every claim.
#include <string>
#include <string_view>

#include "core/model.hpp"

namespace hydrate {

std::string new_job_id(Millis now);
std::string new_lease_token();
std::string new_trace_id(Millis now);  // "hydrate-" + a ULID
// True when text has the shape of a job id (26 Crockford base-32 characters).
bool looks_like_job_id(std::string_view text);

}  // namespace hydrate
