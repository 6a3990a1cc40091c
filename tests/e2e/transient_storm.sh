#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A storm of transient faults (SQLite here; postgres_transient_storm.sh runs the same on
# PostgreSQL): the endpoint answers 40% of requests with 429 (retry-after), 500, 503
# (retry-after), a held request that ends in a 504 or a dropped connection, or a malformed body.
# Four workers, five subjects of 89 steps each (445 in all):
#   - every root ends `succeeded` with no requeue: transient faults spend no attempt, so no step
#     dies of them (with only 3 attempts a step, spending them would fail most trees);
#   - each step's logged calls are its attempts plus its transient retries, and the last
#     transient error of a step that met one is in `status --json`;
#   - no retry was sent sooner than the retry-after of the answer before it;
#   - exact accounting: the endpoint's billed tokens equal the logged ones.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init transient_storm "$E2E_BACKEND"

printf 'work.max_attempts = 3\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
export HYDRATE_LLM_TIMEOUT_MS=5000
export HYDRATE_RETRY_BASE_MS=20
start_mock --seed 3 --timeout-hold-ms 100 --rate-429 0.15 --rate-500 0.08 --rate-503 0.07 \
  --rate-timeout 0.05 --rate-malformed 0.05

ROOTS=()
for subject in MATH SCIENCE ENGLISH HISTORY GEOGRAPHY; do
  hy --json submit --language en --board CBSE --grade 3 --subject "$subject" \
    --chapters 8 --topics-per-chapter 5 --questions-per-topic 1
  ROOTS+=("$(jq -er .rootJobId <<<"$RUN_OUT")")
done

WORKERS=()
for i in 1 2 3 4; do
  spawn pid "worker$i" "$HYDRATE_BIN" work --until-idle --concurrency 6
  WORKERS+=("$pid")
done
for pid in "${WORKERS[@]}"; do
  reap "$pid" 600
  assert_eq 0 "$REAP_RC" "exit status of worker $pid"
done

STATS=$(mock_stats)
note "endpoint: $(jq -c .requests.byFault <<<"$STATS")"
TOTAL=$(jq .requests.total <<<"$STATS")
FAULTS=$(jq '[.requests.byFault | to_entries[] | select(.key != "none") | .value] | add' <<<"$STATS")
assert_ge 5 "$(jq '[.requests.byFault | to_entries[] | select(.key != "none" and .value > 0)] | length' <<<"$STATS")" \
  "kinds of transient fault injected"
# At least a third of all requests were faults (40% asked; retries of faults are drawn anew).
assert_ge "$((TOTAL / 3))" "$FAULTS" "faulted requests out of $TOTAL"

STEPS=$(sql_count "SELECT count(*) FROM jobs")
assert_ge 400 "$STEPS" "steps in the five trees"
for root in "${ROOTS[@]}"; do assert_tree_succeeded "$root"; done
assert_ge 100 "$(sql_count "SELECT count(*) FROM jobs WHERE transient_retries > 0")" \
  "steps that met a transient fault"
assert_empty "$(sql "SELECT id, attempts FROM jobs WHERE attempts <> 1")" \
  "steps that spent more than one attempt (no answer was wrong, so none should)"
assert_empty "$(sql "SELECT j.id, j.attempts, j.transient_retries, count(c.id) FROM jobs j
                     LEFT JOIN llm_calls c ON c.job_id = j.id
                     GROUP BY j.id, j.attempts, j.transient_retries
                     HAVING count(c.id) <> j.attempts + j.transient_retries")" \
  "steps whose logged calls are not attempts + transient retries (id, attempts, retries, calls)"

# No call followed a retry-after sooner than asked: the next call of the same step started at
# least retry_after_ms after the answer that said it ended.
EARLY=$(sql "SELECT a.job_id, a.retry_after_ms, b.started_at - a.created_at FROM llm_calls a
             JOIN llm_calls b ON b.job_id = a.job_id AND b.started_at >= a.created_at
               AND b.id <> a.id
             WHERE a.retry_after_ms IS NOT NULL
               AND b.started_at = (SELECT min(c.started_at) FROM llm_calls c
                                   WHERE c.job_id = a.job_id AND c.started_at >= a.created_at
                                     AND c.id <> a.id)
               AND b.started_at - a.created_at < a.retry_after_ms")
assert_empty "$EARLY" "retries sent before their retry-after (job, retry-after ms, waited ms)"
assert_ge 50 "$(sql_count "SELECT count(*) FROM llm_calls WHERE retry_after_ms > 0")" \
  "logged answers that asked for a wait"

# status shows both budgets and the last transient error.
JOB=$(sql "SELECT id FROM jobs WHERE transient_retries > 0 ORDER BY transient_retries DESC LIMIT 1")
hy --json status "$JOB"
assert_ge 1 "$(jq -r .transientRetries <<<"$RUN_OUT")" "transientRetries of step $JOB in status --json"
assert_contains "$(jq -r .lastTransientError <<<"$RUN_OUT")" "HTTP" "last transient error of step $JOB"
hy status "$JOB"
assert_contains "$RUN_OUT" "transient retries" "the step's line in status"

assert_no_duplicate_content
assert_no_orphans
assert_billing_exact
for root in "${ROOTS[@]}"; do assert_cost_priced "$root"; done
note "$STEPS steps, $TOTAL requests, $FAULTS faults; every root succeeded without a requeue"
