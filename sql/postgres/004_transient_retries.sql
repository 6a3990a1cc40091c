-- hydrate schema, version 4: transient faults (429, 5xx, timeouts, dropped connections) have a
-- retry budget of their own, apart from the attempts that wrong answers spend; and the call log
-- keeps what a provider's support desk asks for.
ALTER TABLE jobs ADD COLUMN transient_retries INTEGER NOT NULL DEFAULT 0;
-- When the step's first transient fault since its last success or requeue happened (ms).
ALTER TABLE jobs ADD COLUMN first_transient_at BIGINT;
ALTER TABLE jobs ADD COLUMN last_transient_error TEXT;
ALTER TABLE llm_calls ADD COLUMN request_id TEXT;
ALTER TABLE llm_calls ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0;
-- 1 when the endpoint reported no usage and the tokens were counted from the text.
ALTER TABLE llm_calls ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0;
-- The x-ratelimit-remaining-requests / -tokens the answer carried (NULL when absent).
ALTER TABLE llm_calls ADD COLUMN remaining_requests BIGINT;
ALTER TABLE llm_calls ADD COLUMN remaining_tokens BIGINT;
-- The wait the server asked for (retry-after-ms or retry-after), ms; NULL when none.
ALTER TABLE llm_calls ADD COLUMN retry_after_ms BIGINT;
-- json_schema, json_object or prompt: how the call asked for structured output.
ALTER TABLE llm_calls ADD COLUMN response_format TEXT;
-- When the call was sent (ms); created_at is when it ended.
ALTER TABLE llm_calls ADD COLUMN started_at BIGINT;
-- The structured-output mode that works for an endpoint and model, learnt from its refusals, so
-- the next worker does not pay the refused call again.
CREATE TABLE endpoint_modes (
  endpoint        TEXT NOT NULL,
  model           TEXT NOT NULL,
  response_format TEXT NOT NULL,
  updated_at      BIGINT NOT NULL,
  PRIMARY KEY (endpoint, model)
);
-- The account's rate limit per endpoint and model, shared by every worker of the database: a
-- bucket of requests and tokens refilled continuously at the per-minute limits, which come from
-- --rpm/--tpm or the provider's x-ratelimit-* headers, whichever is lower.
CREATE TABLE rate_limits (
  name                TEXT PRIMARY KEY,
  requests_per_minute BIGINT NOT NULL,
  tokens_per_minute   BIGINT NOT NULL,
  requests_available  DOUBLE PRECISION NOT NULL,
  tokens_available    DOUBLE PRECISION NOT NULL,
  refilled_at         BIGINT NOT NULL,
  blocked_until       BIGINT NOT NULL DEFAULT 0
);
