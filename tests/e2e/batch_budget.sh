#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A budget in batch mode (SQLite here; postgres_batch_budget.sh runs it on PostgreSQL): before a
# batch's file is uploaded, its lines' worst case is reserved against the root's budget, and the
# batch is cut to the lines the budget covers. Once the budget cannot cover one more line the
# tree stops before the next batch: the root ends failed with reason budget_exhausted, having
# spent no more than its budget, with every billed token logged and no batch left open. Every
# batch was covered when it was made: what the tree had spent by then plus the batch's reserved
# worst case is within the budget. requeue --max-cost then finishes the tree, in batches.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init batch_budget "$E2E_BACKEND"

start_mock --batch-validating-ms 50 --batch-ms 200 --batch-finalizing-ms 50
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
printf 'batch.poll_min_ms = 100\nbatch.poll_max_ms = 300\n' >"$HYDRATE_CONFIG"
tree=(--language en --board CBSE --grade 2 --subject SCIENCE --mode batch
  --chapters 6 --topics-per-chapter 4 --questions-per-topic 3)
hy --json estimate "${tree[@]}"
expected=$(jq -er .estimates.estimatedCostUsd <<<"$RUN_OUT")
worst=$(jq -er .estimates.worstCaseCostUsd <<<"$RUN_OUT")
budget=$(awk -v e="$expected" 'BEGIN { printf "%.6f", e / 2 }')
note "batch estimate \$$expected, worst case \$$worst, budget \$$budget"

hy migrate
run "$HYDRATE_BIN" submit "${tree[@]}" --max-cost "$budget"
assert_eq 3 "$RUN_RC" "exit status of a batch submit whose estimate exceeds --max-cost"
assert_contains "$RUN_ERR" "exceeds --max-cost" "the refusal"

hy --json submit "${tree[@]}" --max-cost "$budget" --force
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
work_until_idle --concurrency 4
work_log=$RUN_ERR

status_json "$ROOT"
assert_eq failed "$(jqs .status)" "status of a batch root whose budget ran out"
assert_eq budget_exhausted "$(jqs .reason)" "reason of the root"
spent=$(sql "SELECT sum(cost_usd) FROM llm_calls WHERE root_id = '$ROOT'")
assert_spent_within_budget "$spent" "$budget"
note "spent \$$spent of \$$budget in $(sql_count "SELECT count(*) FROM batches") batches"
note "batches (lines, reserved): $(sql "SELECT lines || ':' || printf('%.6f', reserved_usd) FROM batches ORDER BY created_at, id" | paste -sd ' ')"
assert_ge 2 "$(sql_count "SELECT count(*) FROM jobs WHERE status = 'succeeded'")" \
  "steps that succeeded before the stop (at least 2)"
assert_ge 1 "$(sql_count "SELECT count(*) FROM jobs WHERE last_error LIKE 'budget_exhausted%'")" \
  "steps stopped by the budget (at least 1)"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')")" \
  "steps left pending or running"
assert_empty "$(sql "SELECT id, state FROM batches WHERE state NOT IN ('applied', 'abandoned')")" \
  "batch records left open"
assert_eq 0 "$(sql_count "SELECT count(*) FROM batches WHERE reserved_usd <= 0")" \
  "batches made without a reservation"
# Each batch was covered before it was made: the calls logged before it, plus its reservation.
assert_empty "$(sql "SELECT b.id, b.reserved_usd, (SELECT coalesce(sum(c.cost_usd), 0) FROM llm_calls c
                       WHERE c.root_id = b.root_id AND c.created_at < b.created_at)
                     FROM batches b
                     WHERE b.reserved_usd + (SELECT coalesce(sum(c.cost_usd), 0) FROM llm_calls c
                       WHERE c.root_id = b.root_id AND c.created_at < b.created_at) > $budget")" \
  "batches whose reservation, with what was spent before them, passed the budget"
# The reservation is a bound: no batch cost more than it reserved.
assert_empty "$(sql "SELECT b.id, b.reserved_usd, sum(c.cost_usd) FROM batches b
                     JOIN llm_calls c ON c.call_id LIKE b.id || '/%'
                     GROUP BY b.id, b.reserved_usd HAVING sum(c.cost_usd) > b.reserved_usd")" \
  "batches that cost more than they reserved"
assert_contains "$work_log" "fit the budget and the batch queue; the rest wait" \
  "a batch cut to the lines the budget covers (work's log)"
assert_contains "$work_log" "its budget cannot cover the next batch line" "the stop (work's log)"
assert_batch_billed_as_logged

# A higher budget finishes the tree, in batches, without running again what succeeded.
before=$(sql "SELECT id || ':' || attempts || ':' || finished_at FROM jobs
              WHERE status = 'succeeded' ORDER BY id")
hy requeue "$ROOT" --max-cost "$worst"
work_until_idle --concurrency 4
assert_tree_succeeded "$ROOT"
assert_no_duplicate_content
after=$(sql "SELECT id || ':' || attempts || ':' || finished_at FROM jobs
             WHERE id IN ($(sed "s/:.*//; s/.*/'&'/" <<<"$before" | paste -sd,)) ORDER BY id")
assert_eq "$before" "$after" "steps that had succeeded before the requeue (not run again)"
assert_batch_billed_as_logged
