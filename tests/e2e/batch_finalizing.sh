#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A slow finalizing step (SQLite here; postgres_batch_finalizing.sh runs it on PostgreSQL): every
# batch of the endpoint stays finalizing 1.5 s longer than it takes to answer its lines. The
# worker keeps polling it, within batch.poll_max_ms, as a batch not yet final: `status ROOT`
# shows it finalizing, every batch ends completed and applied (none given up on or expired), and
# the tree ends succeeded with each answer used once and every billed token logged.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init batch_finalizing "$E2E_BACKEND"

start_mock --batch-validating-ms 50 --batch-ms 100 --batch-finalizing-ms 50 \
  --batch-rate-slow-finalizing 1 --batch-slow-finalizing-ms 1500
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
printf 'batch.poll_min_ms = 100\nbatch.poll_max_ms = 200\n' >"$HYDRATE_CONFIG"
hy --json submit --language en --board CBSE --grade 4 --subject ENGLISH --mode batch \
  --chapters 2 --topics-per-chapter 2 --questions-per-topic 1
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")

spawn WORKER worker "$HYDRATE_BIN" work --until-idle --concurrency 2
finalizing() {
  status_json "$ROOT"
  [[ $(jqs '[.batches[] | select(.providerStatus == "finalizing")] | length') -ge 1 ]]
}
wait_until 60 "status to show a batch finalizing" finalizing
note "finalizing: $(jqs '.batches[0] | "\(.id): \(.lines) lines, \(.completed) completed"')"
reap "$WORKER" 120
assert_eq 0 "$REAP_RC" "exit status of work --until-idle"
assert_tree_succeeded "$ROOT"
assert_no_duplicate_content
assert_eq "applied completed|applied completed|applied completed" \
  "$(sql "SELECT state || ' ' || provider_status FROM batches ORDER BY created_at, id" | paste -sd '|')" \
  "the batches (state, provider status), one per level"
assert_eq "$(sql_count "SELECT count(*) FROM jobs")" \
  "$(sql_count "SELECT count(*) FROM llm_calls WHERE used = 1 AND call_id LIKE 'batch-%/%'")" \
  "steps answered by a used batch line"
assert_batch_billed_as_logged
