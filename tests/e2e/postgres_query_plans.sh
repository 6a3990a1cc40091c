#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# PostgreSQL at a million rows: every statement hydrate runs for a claim, a step result, lease
# rescue, roll-up, status, export, the metrics gauges and the report is driven by an index. The real
# statements are captured with auto_explain (the server logs each one's plan) while the real
# binary works a small tree in a database that also holds 1,000,000 other jobs, 200,000 logged
# calls and 100,000 batch records; no plan may scan the jobs, llm_calls or batches table
# sequentially. The plans are kept in the
# test's log for reading.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
e2e_init postgres_query_plans
[[ -n ${HYDRATE_TEST_PG:-} ]] || skip "HYDRATE_TEST_PG is not set (scripts/test starts a PostgreSQL server)"
# A cluster of its own, so its server log holds only this test's plans.
PG_CLUSTER=$(mktemp -d -t hydrate-e2e-pg.XXXXXX)
PG_SERVER_URL=$("$HYDRATE_SOURCE_DIR/scripts/pg-throwaway" start "$PG_CLUSTER") || fail "cannot start a cluster"
trap '_pg_rc=$?; set +e; trap - ERR; "$HYDRATE_SOURCE_DIR/scripts/pg-throwaway" stop "$PG_CLUSTER"; (exit "$_pg_rc"); _e2e_cleanup' EXIT
PG_URL=$PG_SERVER_URL
export HYDRATE_DB=$PG_URL
hy migrate

note "loading 1,000,000 jobs, 200,000 calls and 100,000 batch records"
sql "INSERT INTO jobs (id, kind, root_id, status, input, attempts, max_attempts, run_after,
                      created_at, updated_at)
     SELECT 'R' || g, 'subject', 'R' || g, 'succeeded', '{}', 1, 5, g, g, g
     FROM generate_series(1, 1000) g"
sql "INSERT INTO roots (job_id, status, language, board, grade, subject, options, dedupe_key, trace_id,
                       estimates, leaves_per_topic, created_at, finished_at)
     SELECT 'R' || g, 'succeeded', 'en', 'CBSE', '1', 'S' || g, '{}', 'k' || g, 't' || g, '{}', 2,
            g, g + 1 FROM generate_series(1, 1000) g"
sql "INSERT INTO jobs (id, kind, parent_id, root_id, position, status, input, attempts, max_attempts,
                      run_after, created_at, updated_at, started_at, finished_at)
     SELECT 'J' || g, 'questions', 'R' || (g % 1000 + 1), 'R' || (g % 1000 + 1), g, 'succeeded', '{}',
            1, 5, g, g, g, g, g + 1 FROM generate_series(1, 1000000) g"
sql "INSERT INTO llm_calls (job_id, root_id, attempt, model, http_status, prompt_tokens,
                           completion_tokens, cached_tokens, cost_usd, latency_ms, used, created_at)
     SELECT 'J' || g, 'R' || (g % 1000 + 1), 1, 'gpt-4o-mini', 200, 500, 500, 0, 0.0001, 100, 1, g
     FROM generate_series(1, 200000) g"
sql "INSERT INTO batches (id, root_id, model, lease_token, state, provider_status, lines, completed,
                         error, created_at, updated_at, finished_at)
     SELECT 'B' || g, 'R' || (g % 1000 + 1), 'gpt-4o-mini', 't' || g, 'applied', 'completed', 10, 10,
            '', g, g, g FROM generate_series(1, 100000) g"
# VACUUM as autovacuum would have by now: it marks the settled rows all-visible, so the count of
# steps by status and kind (hydrate metrics) reads jobs_status_kind alone.
sql "VACUUM ANALYZE"

# From here on every statement of hydrate's sessions logs its plan.
export HYDRATE_DB="$PG_URL?options=-c%20session_preload_libraries%3Dauto_explain%20-c%20auto_explain.log_min_duration%3D0%20-c%20auto_explain.log_nested_statements%3Don"
start_mock
submit_small_pg() {
  hy --json submit --language en --board CBSE --grade 1 --subject MATH \
    --chapters 3 --topics-per-chapter 2 --questions-per-topic 3
  ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
}
submit_small_pg
work_until_idle --concurrency 4
hy reconcile
hy status "$ROOT"
hy status
# A batch-mode root's status: its open batches and its calls by model (the savings).
hy --json submit --language en --board CBSE --grade 1 --subject CHEMISTRY --chapters 3 \
  --topics-per-chapter 2 --questions-per-topic 3 --mode batch
hy status "$(jq -er .rootJobId <<<"$RUN_OUT")"
hy export "$ROOT"
hy cancel "$ROOT"
hy requeue --failed
hy metrics
hy report

LOG=$PG_CLUSTER/server.log
PLANS=$(grep -c "Query Text:" "$LOG" || true)
assert_ge 20 "$PLANS" "statements whose plans auto_explain logged"
cp "$LOG" "$E2E_DIR/plans.log"
SEQ=$(grep -B30 -E "Seq Scan on (jobs|llm_calls|batches)" "$LOG" |
  grep -E "Query Text:|Seq Scan on (jobs|llm_calls|batches)" || true)
assert_empty "$SEQ" "statements that scan jobs, llm_calls or batches sequentially"
assert_ge 10 "$(grep -c -E "Index (Only )?Scan using jobs_" "$LOG" || true)" "plans that use an index of jobs"
# For the reader of the test log: the plan of a claim.
note "plan of a claim at 1,000,000 jobs:"
awk '/Query Text: UPDATE jobs SET status = .running./ {found = 1} found && /Query Text:/ && n++ > 0 {exit}
     found {print "    " $0}' "$LOG" | sed -n '1,40p' | sed -E 's/^ *[0-9-]+ [0-9:.]+ UTC \[[0-9]+\] LOG: +//' 
note "plan of hydrate_batches at 100,000 batch records:"
grep -B1 -A4 "Query Text: SELECT provider_status, state, count" "$LOG" | sed -n '1,6p' |
  sed -E 's/^ *[0-9-]+ [0-9:.]+ UTC \[[0-9]+\] LOG: +//; s/^/    /'
note "$PLANS plans logged, none scans jobs, llm_calls or batches sequentially"
