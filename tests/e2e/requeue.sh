#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Requeue: steps that exhaust their transient retries against a failing endpoint fail (4 here,
# retry.max_transient), and so does their
# root, with a reason and the last error in status. Once the endpoint is healthy, `requeue ROOT`
# (and `requeue --failed --root ROOT`) reopen exactly the failed steps; a worker finishes the tree
# and no step that had already succeeded runs again.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init requeue

# Phase 1, healthy endpoint: the subject and its chapters succeed, one step at a time (the oldest
# pending step is always a planning step while one is left); the leaves stay pending.
start_mock
submit_small
planning_left() { sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND kind IN ('subject', 'chapter') AND status != 'succeeded'"; }
for _ in $(seq 1 10); do
  (($(planning_left) > 0)) || break
  hy work --max-steps 1 --concurrency 1
done
assert_eq 0 "$(planning_left)" "planning steps left after phase 1"
PLANNED=$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status = 'succeeded'")
LEAVES=$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status = 'pending'")
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND kind IN ('note', 'questions') AND status != 'pending'")" \
  "leaf steps that ran in phase 1"
assert_eq "$LEAVES" "$(sql_count "SELECT 2 * count(*) FROM topics WHERE root_id = '$ROOT'")" "leaf steps (2 per topic)"
note "phase 1: $PLANNED planning step(s) succeeded, $LEAVES leaves pending"
stop_mock

# Phase 2, every call a 500: the leaves fail once their 4 transient retries are spent; so does a
# new root's subject.
export HYDRATE_RETRY_MAX_TRANSIENT=4
start_mock --rate-500 1
hy --json submit --language en --board CBSE --grade 3 --subject MATH "${SMALL_TREE[@]}"
ROOT_B=$(jq -er .rootJobId <<<"$RUN_OUT")
run "$HYDRATE_BIN" work --until-idle --concurrency 4
[[ $RUN_RC == 0 || $RUN_RC == 1 ]] || fail "work against a failing endpoint exited with $RUN_RC: $RUN_ERR"
stop_mock

status_json "$ROOT"
assert_eq failed "$(jqs .status)" "status of the root whose leaves failed"
assert_eq "$LEAVES" "$(jqs .progress.steps.failed)" "failed steps of the root"
assert_eq "$PLANNED" "$(jqs .progress.steps.succeeded)" "succeeded steps of the root"
assert_contains "$(jqs '.reason // ""')" "$LEAVES step(s) failed" "reason of the failed root"
[[ $(jqs '.errors | length') -ge 1 ]] || fail "status shows no error of the failed root: $STATUS"
assert_contains "$(jqs '.errors[0].error')" "gave up after 4 transient retries" "last error in status"
assert_contains "$(jqs '.errors[0].error')" "500" "last error in status names the HTTP status"
assert_eq 1 "$(jqs '.errors[0].attempts')" "attempts of a failed step (transient faults spend none)"
assert_eq 4 "$(jqs '.errors[0].transientRetries')" "transient retries of a failed step"
assert_contains "$(jqs '.errors[0].lastTransientError')" "500" "last transient error in status"
hy status "$ROOT"
assert_contains "$RUN_OUT" "gave up after 4 transient retries" "human status of the failed root"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs j WHERE root_id = '$ROOT' AND status = 'failed' AND (SELECT count(*) FROM llm_calls c WHERE c.job_id = j.id) != 5")" \
  "failed steps without exactly 5 logged calls"

status_json "$ROOT_B"
assert_eq failed "$(jqs .status)" "status of the root whose subject failed"
assert_eq 1 "$(jqs .progress.steps.failed)" "failed steps of the second root"

CALLS_BEFORE=$(sql "SELECT group_concat(job_id || ':' || n) FROM (SELECT job_id, count(*) AS n FROM llm_calls WHERE job_id IN (SELECT id FROM jobs WHERE root_id = '$ROOT' AND status = 'succeeded') GROUP BY job_id ORDER BY job_id)")

unset HYDRATE_RETRY_MAX_TRANSIENT

# Phase 3, healthy again: requeue one root's failed steps only, then the other whole root.
start_mock
hy requeue --failed --root "$ROOT_B"
assert_eq "requeued 1 step(s)" "$RUN_OUT" "output of requeue --failed --root"
assert_eq failed "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT'")" "the other root after requeue --failed --root"
hy --json requeue "$ROOT"
assert_eq "$LEAVES" "$(jq -r .requeued <<<"$RUN_OUT")" "steps requeued of the root"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status = 'failed'")" "failed steps left after requeue"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status = 'pending' AND attempts != 0")" "requeued steps whose attempts were not reset"
status_json "$ROOT"
[[ $(jqs .status) == running || $(jqs .status) == pending ]] || fail "a requeued root is $(jqs .status), not reopened"
[[ -z $(jqs '.reason // empty') ]] || fail "a reopened root still has a reason: $(jqs .reason)"

work_until_idle
assert_tree_succeeded "$ROOT"
assert_tree_succeeded "$ROOT_B"
assert_no_duplicate_content
assert_export_matches "$ROOT"
CALLS_AFTER=$(sql "SELECT group_concat(job_id || ':' || n) FROM (SELECT job_id, count(*) AS n FROM llm_calls WHERE job_id IN (SELECT id FROM jobs WHERE root_id = '$ROOT' AND kind IN ('subject', 'chapter')) GROUP BY job_id ORDER BY job_id)")
assert_eq "$CALLS_BEFORE" "$CALLS_AFTER" "calls of the steps that had succeeded before the requeue (job:calls)"
assert_eq "" "$(sql "SELECT job_id FROM llm_calls WHERE used = 1 GROUP BY job_id HAVING count(*) > 1")" \
  "steps whose output was used twice"
