#pragma once
// The wire side of the rate limiter: the x-ratelimit-* headers each flavor sends with an answer,
// and the 429 it sends for a request past a limit (OpenAI's rate_limit_exceeded with type
// "requests" or "tokens", Azure's own 429), always with retry-after and retry-after-ms.
#include <string>
#include <utility>
#include <vector>

#include "mock/faults.hpp"
#include "mock/flavor.hpp"
#include "mock/rate_limiter.hpp"

namespace hydrate::mock {

using Headers = std::vector<std::pair<std::string, std::string>>;

// OpenAI: x-ratelimit-{limit,remaining,reset}-{requests,tokens} (resets as go_duration);
// Azure: x-ratelimit-remaining-{requests,tokens}; the local flavors: none.
Headers limit_headers(Flavor flavor, const LimitState& state);

// The 429 for a refused admission of a request for `model`; `api_version` names Azure's.
Reply limit_refusal(Flavor flavor, const std::string& model, const Admission& refused,
                    const std::string& api_version);

}  // namespace hydrate::mock
