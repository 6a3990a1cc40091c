#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Cancel during a batch (SQLite here; postgres_batch_cancel.sh runs it on PostgreSQL): a
# batch-mode root is cancelled while its chapters' batch runs at the provider. `cancel` cancels
# that batch there at once; the worker's cycle then applies what the provider billed before the
# cancel took, as calls not used, and closes the record. No content is written after the cancel,
# and every billed token is logged.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init batch_cancel "$E2E_BACKEND"

start_mock --batch-validating-ms 50 --batch-ms 4000 --batch-finalizing-ms 50 --batch-cancelling-ms 300
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
printf 'batch.poll_min_ms = 100\nbatch.poll_max_ms = 300\n' >"$HYDRATE_CONFIG"
hy --json submit --language en --board CBSE --grade 9 --subject PHYSICS --mode batch \
  --chapters 5 --topics-per-chapter 3 --questions-per-topic 1
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
spawn WORKER worker "$HYDRATE_BIN" work --concurrency 2
chapters_at_provider() {
  [[ $(sql_count "SELECT count(*) FROM batches WHERE root_id = '$ROOT' AND state = 'created' AND lines = 5") -eq 1 ]]
}
wait_until 120 "the chapters' batch to be created" chapters_at_provider
CONTENT_BEFORE=$(sql "SELECT (SELECT count(*) FROM chapters) || ' ' || (SELECT count(*) FROM topics)")

hy --json cancel "$ROOT"
assert_eq 5 "$(jq -r .cancelled <<<"$RUN_OUT")" "steps cancelled (the five chapters held by the batch)"
assert_eq 1 "$(jq -r .batchesCancelled <<<"$RUN_OUT")" "batches cancelled at the provider"
closed() {
  [[ $(sql_count "SELECT count(*) FROM batches WHERE root_id = '$ROOT' AND state NOT IN ('applied', 'abandoned')") -eq 0 ]]
}
wait_until 120 "the cycle to close the cancelled batch" closed
stop_gracefully "$WORKER"
assert_eq 0 "$REAP_RC" "exit status of the worker"

status_json "$ROOT"
assert_eq cancelled "$(jqs .status)" "status of the cancelled root"
assert_eq 1 "$(jq -r .batches.byStatus.cancelled <<<"$(mock_stats)")" "batches the provider cancelled"
assert_eq "applied cancelled" "$(sql "SELECT state || ' ' || provider_status FROM batches WHERE root_id = '$ROOT' AND lines = 5")" \
  "the chapters' record (state, provider status)"
assert_eq "$CONTENT_BEFORE" "$(sql "SELECT (SELECT count(*) FROM chapters) || ' ' || (SELECT count(*) FROM topics)")" \
  "chapters and topics: when cancelled vs at the end"
assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls c JOIN jobs j ON j.id = c.job_id
                           WHERE j.kind = 'chapter' AND c.used = 1")" "chapter answers used after the cancel"
stats=$(mock_stats)
assert_batch_billed_as_logged
note "cancelled mid-batch: $(jq -c .batches.lines <<<"$stats")"
