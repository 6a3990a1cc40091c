#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Faults: an endpoint that answers about one request in five with a fault — 429, 500, 503, a
# timeout (held, then a 504 or a dropped connection), a malformed body, a truncated answer,
# schema-invalid JSON — still yields a complete tree, and hydrate's call log accounts for exactly
# the tokens the endpoint billed, and for every request it made.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init faults

# Enough attempts that a step failing every one of them (0.2^10) never happens in practice.
printf 'work.max_attempts = 10\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
export HYDRATE_LLM_TIMEOUT_MS=2000

start_mock --seed 10 --timeout-hold-ms 200 \
  --rate-429 0.03 --rate-500 0.03 --rate-503 0.03 --rate-timeout 0.03 \
  --rate-malformed 0.03 --rate-truncated 0.03 --rate-invalid 0.03

hy --json submit --language en --board CBSE --grade 1 --subject MATH \
  --chapters 5 --topics-per-chapter 4 --questions-per-topic 3
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")

work_until_idle --concurrency 8
note "worker: ${RUN_ERR##*$'\n'}"

assert_tree_succeeded "$ROOT"
CHAPTERS=$(sql_count "SELECT count(*) FROM chapters WHERE root_id = '$ROOT'")
TOPICS=$(sql_count "SELECT count(*) FROM topics WHERE root_id = '$ROOT'")
assert_eq $((1 + CHAPTERS + 2 * TOPICS)) "$(jqs .progress.steps.succeeded)" "succeeded steps (1 + chapters + 2 × topics)"
assert_eq "$CHAPTERS" "$(jqs .progress.levels.chapters.completed)" "chapters completed"
assert_eq "$TOPICS" "$(jqs .progress.levels.topics.completed)" "topics completed"
assert_eq $((3 * TOPICS)) "$(jqs .progress.levels.questions.completed)" "questions completed"
assert_no_duplicate_content
assert_export_matches "$ROOT"

STATS=$(mock_stats)
printf '%s\n' "$STATS" >"$E2E_DIR/stats.json"
FAULTS=$(jq '[.requests.byFault | to_entries[] | select(.key != "none") | .value] | add' <<<"$STATS")
KINDS=$(jq '[.requests.byFault | to_entries[] | select(.key != "none" and .value > 0)] | length' <<<"$STATS")
note "endpoint: $(jq -c .requests <<<"$STATS")"
assert_ge 5 "$FAULTS" "faults the endpoint injected (the test must exercise them)"
assert_ge 5 "$KINDS" "kinds of fault injected (seed 10 gives all 7 today)"

# Exact accounting: every billed token is in llm_calls, and nothing else is.
BILLED_PROMPT=$(jq .billed.promptTokens <<<"$STATS")
BILLED_COMPLETION=$(jq .billed.completionTokens <<<"$STATS")
LOGGED_PROMPT=$(sql_count "SELECT coalesce(sum(prompt_tokens), 0) FROM llm_calls")
LOGGED_COMPLETION=$(sql_count "SELECT coalesce(sum(completion_tokens), 0) FROM llm_calls")
assert_eq "$((BILLED_PROMPT + BILLED_COMPLETION))" "$((LOGGED_PROMPT + LOGGED_COMPLETION))" \
  "prompt+completion tokens: billed by the endpoint vs logged in llm_calls"
assert_eq "$BILLED_PROMPT" "$LOGGED_PROMPT" "prompt tokens: billed vs logged"
assert_eq "$BILLED_COMPLETION" "$LOGGED_COMPLETION" "completion tokens: billed vs logged"
assert_eq "$LOGGED_PROMPT" "$(jqs .tokens.prompt)" "prompt tokens in status vs llm_calls"
assert_eq "$LOGGED_COMPLETION" "$(jqs .tokens.completion)" "completion tokens in status vs llm_calls"
# Every request is logged, failed or not; billed answers are the ones with usage.
assert_eq "$(jq .requests.total <<<"$STATS")" "$(sql_count "SELECT count(*) FROM llm_calls")" \
  "requests the endpoint received vs calls logged"
assert_eq "$(jq .billed.calls <<<"$STATS")" \
  "$(sql_count "SELECT count(*) FROM llm_calls WHERE prompt_tokens + completion_tokens > 0")" \
  "answers billed vs calls logged with usage"
assert_ge "$FAULTS" "$(sql_count "SELECT count(*) FROM llm_calls WHERE used = 0")" \
  "calls logged as not used (at least one per fault)"
assert_within_worst_case "$ROOT"
