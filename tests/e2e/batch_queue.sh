#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The model's batch queue (SQLite here; postgres_batch_queue.sh runs it on PostgreSQL), against
# an endpoint with an enqueued-token limit per model, well under one level of a tree:
#   learned: with no limit configured, the provider refuses the first batch that passes it
#            (failed, token_limit_exceeded); the worker then holds its batches of that model to
#            half the refused one, so the refused steps go again in smaller batches, spending
#            neither an attempt nor a transient retry, and the tree ends succeeded;
#   configured: with batch.queue_tokens set to the limit, two trees worked together never get a
#            refusal: each batch is cut to the room the model's queue has left, and waits while
#            the other tree's batches hold it.
# A batch whose prompt tokens alone pass the limit (one line) is the provider's to refuse.
# Each phase has its own endpoint; every token it billed is logged once.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init batch_queue "$E2E_BACKEND"

LIMIT=2500
mock_flags=(--batch-validating-ms 50 --batch-ms 400 --batch-finalizing-ms 50 --batch-token-limit "$LIMIT")
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
tree=(--language en --board CBSE --grade 7 --mode batch --chapters 4 --topics-per-chapter 3 --questions-per-topic 2)
submit_tree() {
  hy --json submit "${tree[@]}" --subject "$1"
  jq -er .rootJobId <<<"$RUN_OUT"
}

# --- learned from the refusal -----------------------------------------------------------------
start_mock "${mock_flags[@]}"
printf 'batch.poll_min_ms = 100\nbatch.poll_max_ms = 300\n' >"$HYDRATE_CONFIG"
LEARNED=$(submit_tree SCIENCE)
work_until_idle --concurrency 2
work_log=$RUN_ERR
assert_tree_succeeded "$LEARNED"
stats=$(mock_stats)
note "learned: $(jq -c .batches.byStatus <<<"$stats"); batches (lines, tokens, status): $(sql "SELECT lines || ':' || prompt_tokens || ':' || provider_status FROM batches ORDER BY created_at, id" | paste -sd ' ')"
refused=$(sql_count "SELECT count(*) FROM batches WHERE provider_status = 'failed' AND error LIKE 'token_limit_exceeded%'")
assert_ge 1 "$refused" "batches the endpoint refused for its queue"
assert_le 4 "$refused" "refusals before the worker held its batches to the queue (at most 4)"
assert_eq "$refused" "$(jq -r .batches.byStatus.failed <<<"$stats")" "refused batches: records vs the endpoint"
assert_contains "$work_log" "batches now hold at most" "the learned limit (work's log)"
assert_empty "$(sql "SELECT id, attempts, transient_retries FROM jobs WHERE attempts <> 1 OR transient_retries <> 0")" \
  "steps that spent more than their one answered attempt (job, attempts, transient retries)"
assert_batch_billed_as_logged
stop_mock

# --- configured --------------------------------------------------------------------------------
start_mock "${mock_flags[@]}"
printf 'batch.poll_min_ms = 100\nbatch.poll_max_ms = 300\nbatch.queue_tokens = %s\n' "$LIMIT" >"$HYDRATE_CONFIG"
FIRST=$(submit_tree HISTORY)
SECOND=$(submit_tree GEOGRAPHY)
configured="root_id IN ('$FIRST', '$SECOND')"
work_until_idle --concurrency 2
work_log=$RUN_ERR
assert_tree_succeeded "$FIRST"
assert_tree_succeeded "$SECOND"
assert_no_duplicate_content
stats=$(mock_stats)
note "configured: $(jq -c .batches.byStatus <<<"$stats"), $(sql_count "SELECT count(*) FROM batches WHERE $configured") batches"
assert_eq 0 "$(jq -r '.batches.byStatus.failed // 0' <<<"$stats")" "batches the endpoint refused"
assert_eq 0 "$(sql_count "SELECT count(*) FROM batches WHERE $configured AND prompt_tokens > $LIMIT")" \
  "batches holding more than the queue's limit"
assert_contains "$work_log" "waits for room in" "a batch that waited for the queue (work's log)"
assert_contains "$work_log" "fit the budget and the batch queue; the rest wait" "a batch cut to the queue's room (work's log)"
assert_batch_billed_as_logged "$configured"
