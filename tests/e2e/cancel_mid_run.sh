#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Cancel mid-run: with a slow endpoint, a worker is stopped short by `cancel ROOT`: it ends on its
# own (until idle), the root is `cancelled`, no step is left pending or running, no content comes
# from a step that did not succeed, and the calls that were in flight are logged but not used.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init cancel_mid_run

# About 29 steps at 400 ms each, two at a time: several seconds of work left after the first few.
start_mock --latency-ms 400
hy --json submit --language en --board CBSE --grade 1 --subject MATH \
  --chapters 4 --topics-per-chapter 3 --questions-per-topic 3
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")

spawn WORKER worker "$HYDRATE_BIN" work --until-idle --concurrency 2
succeeded() { sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status = 'succeeded'"; }
some_succeeded() { (($(succeeded) >= 3)); }
wait_until 60 "some steps to succeed" some_succeeded
process_alive "$WORKER" || fail "the worker ended before the cancel: $(cat "$E2E_DIR/worker.err")"

IN_FLIGHT=$(sql "SELECT id FROM jobs WHERE root_id = '$ROOT' AND status = 'running' ORDER BY id")
hy cancel "$ROOT"
CANCELLED_IDS=$(sql "SELECT id FROM jobs WHERE root_id = '$ROOT' AND status = 'cancelled' ORDER BY id")
[[ $RUN_OUT =~ ^cancelled\ ([0-9]+)\ step\(s\)\ of\ $ROOT$ ]] || fail "unexpected cancel output: $RUN_OUT"
CANCELLED=${BASH_REMATCH[1]}
assert_ge 1 "$CANCELLED" "steps cancelled"
note "cancelled $CANCELLED step(s) after $(succeeded) succeeded"

reap "$WORKER" 60
assert_eq 0 "$REAP_RC" "exit status of the worker after the cancel ($(tail -n 2 "$E2E_DIR/worker.err"))"

status_json "$ROOT"
assert_eq cancelled "$(jqs .status)" "root status after cancel"
assert_contains "$(jqs '.reason // ""')" "cancelled by operator" "reason of the cancelled root"
[[ $(jqs .finishedAt) != null ]] || fail "a cancelled root has no finishedAt"
assert_eq 0 "$(jqs '.progress.steps.pending + .progress.steps.running')" "pending or running steps after cancel"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')")" \
  "pending or running jobs in the database"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE lease_token IS NOT NULL")" "jobs still holding a lease"
assert_ge 1 "$(jqs .progress.steps.cancelled)" "cancelled steps in status"
assert_eq "$CANCELLED_IDS" "$(sql "SELECT id FROM jobs WHERE root_id = '$ROOT' AND status = 'cancelled' ORDER BY id")" \
  "steps cancelled by the cancel vs after the worker ended (a step in flight must not come back)"
# A step that was in flight when it was cancelled: its call finished and was logged, unused.
while read -r id; do
  [[ -n $id && $(sql "SELECT status FROM jobs WHERE id = '$id'") == cancelled ]] || continue
  assert_ge 1 "$(sql_count "SELECT count(*) FROM llm_calls WHERE job_id = '$id' AND used = 0")" \
    "unused calls logged for step $id, in flight when cancelled"
done <<<"$IN_FLIGHT"
assert_ge 1 "$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status = 'cancelled'")" \
  "cancelled jobs in the database"

# Content only from succeeded steps, once each; calls of cancelled steps logged, never used.
assert_no_duplicate_content
assert_eq "" "$(sql "SELECT c.job_id FROM llm_calls c JOIN jobs j ON j.id = c.job_id WHERE j.status != 'succeeded' AND c.used = 1")" \
  "calls of steps that did not succeed marked as used"
assert_eq "" "$(sql "SELECT j.id FROM jobs j WHERE j.status = 'succeeded' AND (SELECT count(*) FROM llm_calls c WHERE c.job_id = j.id AND c.used = 1) != 1")" \
  "succeeded steps without exactly one used call"
STATS=$(mock_stats)
BILLED=$(jq '.billed.promptTokens + .billed.completionTokens' <<<"$STATS")
LOGGED=$(sql_count "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM llm_calls")
assert_eq "$BILLED" "$LOGGED" "tokens logged by hydrate vs billed by the endpoint (in-flight calls included)"

# The export holds the content that was written; a second cancel changes nothing; the tree stays put.
assert_export_matches_tables "$ROOT"
hy cancel "$ROOT"
assert_eq "cancelled 0 step(s) of $ROOT" "$RUN_OUT" "output of a second cancel"
work_until_idle
assert_eq cancelled "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT'")" "root status after another worker ran"
