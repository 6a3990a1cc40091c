#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Cancel and requeue under load (SQLite here; postgres_cancel_requeue_load.sh runs it on
# PostgreSQL), four workers with four calls in flight each:
#   - `cancel ROOT` mid-run: once the cancel has committed no content of the tree is written —
#     its content rows and its succeeded steps are the same when the workers have ended as when
#     the cancel returned — the workers end on their own, nothing is left pending or running,
#     and the calls in flight are logged, not used, and billed exactly;
#   - a tree failed by an endpoint whose answers break their schema half the time (2 attempts
#     per step) is
#     requeued once the endpoint is healthy; the workers finish it without running any step that
#     had succeeded again: their attempts, timestamps, cost and calls are unchanged.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init cancel_requeue_load "$E2E_BACKEND"

start_workers() {
  WORKERS=()
  local i
  for i in 1 2 3 4; do
    spawn pid "$1$i" "$HYDRATE_BIN" work --until-idle --concurrency 4
    WORKERS+=("$pid")
  done
}
reap_workers() {
  local pid
  for pid in "${WORKERS[@]}"; do
    reap "$pid" 180
    assert_eq 0 "$REAP_RC" "exit status of worker $pid"
  done
}
count_steps() { sql_count "SELECT count(*) FROM jobs WHERE root_id = '$1' AND status = '$2'"; }

# --- cancel -----------------------------------------------------------------------------------
start_mock --latency-ms 300
hy --json submit --language en --board CBSE --grade 7 --subject MATH \
  --chapters 8 --topics-per-chapter 10 --questions-per-topic 1
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
start_workers cancel
under_load() { (($(count_steps "$ROOT" succeeded) >= 20 && $(count_steps "$ROOT" running) >= 8)); }
wait_until 120 "the four workers to be mid-tree" under_load
hy --json cancel "$ROOT"
CANCELLED=$(jq -r .cancelled <<<"$RUN_OUT" 2>/dev/null || true)
CONTENT_AT_CANCEL=$(content_snapshot "$ROOT")
SUCCEEDED_AT_CANCEL=$(steps_snapshot "$ROOT" succeeded)
note "cancelled ${CANCELLED:-?} step(s) with $(grep -c . <<<"$SUCCEEDED_AT_CANCEL") succeeded and $(grep -c . <<<"$CONTENT_AT_CANCEL") content rows"
reap_workers

status_json "$ROOT"
assert_eq cancelled "$(jqs .status)" "root status after cancel"
assert_eq 0 "$(jqs '.progress.steps.pending + .progress.steps.running')" "pending or running steps after cancel"
assert_ge 1 "$(jqs .progress.steps.cancelled)" "cancelled steps"
assert_eq "$CONTENT_AT_CANCEL" "$(content_snapshot "$ROOT")" "content rows of the tree: when the cancel returned vs at the end"
assert_eq "$SUCCEEDED_AT_CANCEL" "$(steps_snapshot "$ROOT" succeeded)" "succeeded steps: when the cancel returned vs at the end"
assert_empty "$(sql "SELECT c.job_id FROM llm_calls c JOIN jobs j ON j.id = c.job_id WHERE j.status <> 'succeeded' AND c.used = 1")" \
  "calls of steps that did not succeed marked used"
assert_ge 1 "$(sql_count "SELECT count(*) FROM llm_calls c JOIN jobs j ON j.id = c.job_id WHERE j.status = 'cancelled' AND c.used = 0")" \
  "calls in flight at the cancel, logged and not used"
assert_export_matches_tables "$ROOT"
assert_no_duplicate_content
assert_billing_exact
assert_cost_priced "$ROOT"
stop_mock

# --- requeue ----------------------------------------------------------------------------------
printf 'work.max_attempts = 2\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
FIRST_CALL=$(sql_count "SELECT coalesce(max(id), 0) FROM llm_calls")
start_mock --seed "${REQUEUE_SEED:-2}" --rate-invalid 0.5 --latency-ms 50
hy --json submit --language en --board CBSE --grade 8 --subject MATH \
  --chapters 4 --topics-per-chapter 6 --questions-per-topic 1
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
start_workers failing
reap_workers
assert_billing_exact "WHERE id > $FIRST_CALL"
stop_mock
status_json "$ROOT"
assert_eq failed "$(jqs .status)" "status of the tree after steps failed for good"
FAILED=$(count_steps "$ROOT" failed)
SUCCEEDED_BEFORE=$(steps_snapshot "$ROOT" succeeded)
CALLS_BEFORE=$(sql "SELECT job_id, count(*), sum(used) FROM llm_calls WHERE job_id IN
                      (SELECT id FROM jobs WHERE root_id = '$ROOT' AND status = 'succeeded') GROUP BY job_id ORDER BY job_id")
assert_ge 1 "$FAILED" "steps failed for good"
assert_ge 5 "$(grep -c . <<<"$SUCCEEDED_BEFORE")" "steps that succeeded before the requeue"
note "$FAILED step(s) failed, $(grep -c . <<<"$SUCCEEDED_BEFORE") succeeded; requeueing"

FIRST_CALL=$(sql_count "SELECT coalesce(max(id), 0) FROM llm_calls")
start_mock --latency-ms 100
hy --json requeue "$ROOT"
assert_eq "$FAILED" "$(jq -r .requeued <<<"$RUN_OUT")" "steps requeued"
start_workers requeued
reap_workers
assert_tree_succeeded "$ROOT"
assert_export_matches "$ROOT"
# The steps that had succeeded are untouched: same attempts, timestamps and calls.
ids=$(cut -d'|' -f1 <<<"$SUCCEEDED_BEFORE" | sed "s/.*/'&'/" | paste -sd, -)
assert_eq "$SUCCEEDED_BEFORE" "$(sql "SELECT id, status, attempts, started_at, finished_at, updated_at
                                      FROM jobs WHERE id IN ($ids) ORDER BY id")" \
  "steps that had succeeded before the requeue (id, status, attempts, times)"
assert_eq "$CALLS_BEFORE" "$(sql "SELECT job_id, count(*), sum(used) FROM llm_calls WHERE job_id IN ($ids)
                                  GROUP BY job_id ORDER BY job_id")" \
  "calls of the steps that had succeeded before the requeue (job, calls, used)"
assert_no_duplicate_content
assert_no_orphans
assert_billing_exact "WHERE id > $FIRST_CALL"
assert_cost_priced "$ROOT"
