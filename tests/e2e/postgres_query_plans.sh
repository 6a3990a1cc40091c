#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# PostgreSQL at a million rows: every statement hydrate runs for a claim, a step result, lease
# rescue, reconcile's repairs and roll-up, status, export, the metrics gauges and the report is
# driven by an index. The real statements are captured with auto_explain (the server logs each
# one's plan) while the real binary works a small tree, which loses a leaf for reconcile to
# repair, in a database that also holds 1,000 trees of history as scripts/bench/fill writes
# them (40 of them open, their 4,000 topics among 100,000), 1,000,000 other jobs, 200,000
# logged calls and 100,000 batch records; no plan may scan a table of history (jobs, llm_calls,
# batches, chapters, topics, questions, notes, attempts, tree_counts, roots) sequentially. The
# plans are kept in the test's log for reading.
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

note "loading 1,000 trees of history, 1,000,000 jobs, 200,000 calls and 100,000 batch records"
# The trees first (the fill wants a database without roots): 90% finished, 4% running (their
# pending leaves wait out a day's backoff, their running ones hold live leases), so the work
# below finds nothing of theirs to claim; reconcile reads the open ones' counters.
"$HYDRATE_SOURCE_DIR/scripts/bench/fill" --roots 1000 --db "$PG_URL" >/dev/null
# History is older than the report's week (a report over a window holding all of it reads all of
# it; scripts/bench/large_tables measures that): its roots, calls and claims a month back.
MONTH=$((30 * 86400000))
sql "UPDATE roots SET created_at = created_at - $MONTH, started_at = started_at - $MONTH,
       finished_at = finished_at - $MONTH;
     UPDATE llm_calls SET created_at = created_at - $MONTH;
     UPDATE attempts SET claimed_at = claimed_at - $MONTH, ended_at = ended_at - $MONTH"
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
# Its steps are the only ones to claim: the history's pending steps are not due, its running
# ones hold live leases (so the queue is never idle, and --until-idle would not return). The
# subject and the 3 chapters first; then the tree loses a pending leaf, its counters no longer
# add up, and reconcile reads its chapters and topics to repair it; then its 12 leaves.
hy work --max-steps 4 --concurrency 4
lose_a_note_and_repair "$ROOT"
hy work --max-steps 12 --concurrency 4
assert_eq succeeded "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT'")" "the tree's status"
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
HISTORY='jobs|llm_calls|batches|chapters|topics|questions|notes|attempts|tree_counts|roots'
# Each plan follows its statement's "Query Text:" line (a trigger's statements log their own).
SEQ=$(awk -v pat="Seq Scan on ($HISTORY)( |$)" '/Query Text:/ {stmt = $0}
  $0 ~ pat {print substr(stmt, 1, 300); print "    " $0}' "$LOG")
assert_empty "$SEQ" "statements that scan a table of history sequentially"
assert_ge 10 "$(grep -c -E "Index (Only )?Scan using jobs_" "$LOG" || true)" "plans that use an index of jobs"
# For the reader of the test log: the plan of a claim.
note "plan of a claim at 1,000,000 jobs:"
awk '/Query Text: UPDATE jobs SET status = .running./ {found = 1} found && /Query Text:/ && n++ > 0 {exit}
     found {print "    " $0}' "$LOG" | sed -n '1,40p' | sed -E 's/^ *[0-9-]+ [0-9:.]+ UTC \[[0-9]+\] LOG: +//' 
note "plan of hydrate_batches at 100,000 batch records:"
grep -B1 -A4 "Query Text: SELECT provider_status, state, count" "$LOG" | sed -n '1,6p' |
  sed -E 's/^ *[0-9-]+ [0-9:.]+ UTC \[[0-9]+\] LOG: +//; s/^/    /'
note "plans of reconcile's repair of the tree that lost a leaf:"
grep -A8 -E "Query Text: SELECT .* FROM (roots r WHERE r.status IN .{20,40}coalesce|chapters c CROSS JOIN jobs|topics t CROSS JOIN jobs)" "$LOG" |
  sed -n '1,24p' | sed -E 's/^ *[0-9-]+ [0-9:.]+ UTC \[[0-9]+\] LOG: +//; s/^/    /' | cut -c1-160
note "$PLANS plans logged, none scans a table of history sequentially"
