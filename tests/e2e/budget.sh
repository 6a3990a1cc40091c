#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Budget (SQLite here; postgres_budget.sh runs it on PostgreSQL):
# submit refuses a budget below the estimate (exit 3, nothing stored) unless --force; with
# --force, workers reserve each call's worst case before sending it and stop the tree when its
# spend leaves too little: the root ends failed with reason budget_exhausted, having spent no more
# than its budget, every billed token logged. requeue --max-cost refuses a budget not above the
# spend, then raises it and the tree finishes without re-running what succeeded.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init budget "$E2E_BACKEND"

start_mock --latency-ms 30
tree=(--language en --board CBSE --grade 2 --subject SCIENCE
  --chapters 6 --topics-per-chapter 4 --questions-per-topic 3)
hy --json estimate "${tree[@]}"
expected=$(jq -er .estimates.estimatedCostUsd <<<"$RUN_OUT")
worst=$(jq -er .estimates.worstCaseCostUsd <<<"$RUN_OUT")
budget=$(awk -v e="$expected" 'BEGIN { printf "%.6f", e / 2 }')
note "estimate \$$expected, worst case \$$worst, budget \$$budget"

hy migrate
run "$HYDRATE_BIN" submit "${tree[@]}" --max-cost "$budget"
assert_eq 3 "$RUN_RC" "exit status of a submit whose estimate exceeds --max-cost"
assert_contains "$RUN_ERR" "exceeds --max-cost" "the refusal"
assert_eq 1 "$(grep -c . <<<"$RUN_ERR")" "lines of the refusal"
assert_eq 0 "$(sql_count "SELECT count(*) FROM roots")" "roots stored by a refused submit"

hy --json submit "${tree[@]}" --max-cost "$budget" --force
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
PIDS=()
for i in 1 2; do
  spawn pid "budget-worker$i" "$HYDRATE_BIN" work --until-idle --concurrency 8
  PIDS+=("$pid")
done
for pid in "${PIDS[@]}"; do
  reap "$pid" 120
  assert_eq 0 "$REAP_RC" "exit status of worker $pid (a budget stop is the tree's, not the worker's)"
done

status_json "$ROOT"
assert_eq failed "$(jqs .status)" "status of a root whose budget ran out"
assert_eq budget_exhausted "$(jqs .reason)" "reason of the root"
spent=$(sql "SELECT sum(cost_usd) FROM llm_calls WHERE root_id = '$ROOT'")
assert_spent_within_budget "$spent" "$budget"
note "spent \$$spent of \$$budget before the stop"
assert_ge 2 "$(sql_count "SELECT count(*) FROM jobs WHERE status = 'succeeded'")" \
  "steps that succeeded before the stop (at least 2)"
assert_ge 1 "$(sql_count "SELECT count(*) FROM jobs WHERE last_error LIKE 'budget_exhausted%'")" \
  "steps stopped by the budget (at least 1)"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')")" \
  "steps left pending or running"
hy status "$ROOT"
assert_contains "$RUN_OUT" "requeue $ROOT --max-cost" "the way on that status shows"
assert_mock_billed_as_logged

# A budget not above the spend is refused, and changes nothing.
run "$HYDRATE_BIN" requeue "$ROOT" --max-cost "$(awk -v s="$spent" 'BEGIN { printf "%.6f", s / 2 }')"
assert_eq 3 "$RUN_RC" "exit status of requeue with a budget below the spend"
assert_contains "$RUN_ERR" "is not above what root $ROOT already spent" "the refusal"
assert_eq failed "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT'")" "root after the refusal"

before=$(sql "SELECT id || ':' || attempts || ':' || finished_at FROM jobs
              WHERE status = 'succeeded' ORDER BY id")
hy requeue "$ROOT" --max-cost "$worst"
work_until_idle --concurrency 8
assert_tree_succeeded "$ROOT"
assert_no_duplicate_content
assert_within_worst_case "$ROOT"
after=$(sql "SELECT id || ':' || attempts || ':' || finished_at FROM jobs
             WHERE id IN ($(sed "s/:.*//; s/.*/'&'/" <<<"$before" | paste -sd,)) ORDER BY id")
assert_eq "$before" "$after" "steps that had succeeded before the requeue (not run again)"
assert_mock_billed_as_logged
