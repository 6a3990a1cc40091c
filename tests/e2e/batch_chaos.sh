#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Batch mode under SIGKILL (SQLite here; postgres_batch_chaos.sh runs it on PostgreSQL): two
# workers drive one batch-mode tree and one of them is killed at KILLS (16) random moments of its
# batch cycle, a new worker started each time; then a third worker dies at each failpoint of the
# cycle in turn (file uploaded but not recorded, batch created but not recorded, one line of a
# batch applied). The tree ends succeeded; no provider batch was created twice (each has one
# record); no step was applied twice (one used call per step); every line the endpoint billed is
# in the call log exactly once, by its tokens; every record ends applied or abandoned.
# The schedule comes from CHAOS_SEED (printed; random when unset).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init batch_chaos "$E2E_BACKEND"

KILLS=${CHAOS_KILLS:-16}
SEED=${CHAOS_SEED:-$((($(date +%s%N) / 1000) % 1000000))}
RANDOM=$SEED
note "chaos seed $SEED, $KILLS kills (rerun: CHAOS_SEED=$SEED CHAOS_KILLS=$KILLS)"

# Batches that take a while, so that the kills find them in every state; holds of a second, so
# that a dead worker's batches are taken over soon; attempts to spare for the kills.
start_mock --batch-validating-ms 100 --batch-ms 400 --batch-finalizing-ms 100
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
printf 'batch.poll_min_ms = 100\nbatch.poll_max_ms = 300\nbatch.hold_ms = 1000\nwork.max_attempts = 20\n' \
  >"$HYDRATE_CONFIG"
hy --json submit --language en --board CBSE --grade 7 --subject HISTORY --mode batch \
  --chapters 8 --topics-per-chapter 4 --questions-per-topic 1
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")

# First the failpoints of the cycle (core/failpoint.hpp), on the tree's first batch, one worker
# at a time, each armed to die there (SIGKILL, by its own hand) and each carrying on from what
# the one before left: the file uploaded but not recorded (uploaded again), the batch created
# but not recorded (found again by its metadata, not created twice), its line applied but the
# batch not closed (applied again, billed once).
for point in batch-uploaded-unrecorded batch-created-unrecorded batch-line-applied; do
  spawn armed "armed.$point" env HYDRATE_FAILPOINT="$point" "$HYDRATE_BIN" work --concurrency 2
  reap "$armed" 120
  assert_eq 137 "$REAP_RC" "exit status of the worker armed with $point"
  note "a worker died at $point; batches $(sql "SELECT state || ':' || count(*) FROM batches GROUP BY state" | paste -sd ' ')"
done
assert_eq 1 "$(jq -r .batches.created <<<"$(mock_stats)")" "batches created after the failpoints"

PIDS=()
GENERATION=0
start_worker() {
  GENERATION=$((GENERATION + 1))
  spawn "PIDS[$1]" "worker$1.$GENERATION" "$HYDRATE_BIN" work --concurrency 2
}
start_worker 0
start_worker 1
started() { (($(sql_count "SELECT count(*) FROM batches") > 1)); }
wait_until 60 "the next batch" started
for ((kill = 1; kill <= KILLS; kill++)); do
  delay_ms=$((20 + RANDOM % 400))
  victim=$((RANDOM % 2))
  pid=${PIDS[$victim]}
  chaos_kill "$delay_ms" "$pid" "$victim"
  start_worker "$victim"
  states=$(sql "SELECT state || ':' || count(*) FROM batches GROUP BY state ORDER BY state" | paste -sd ' ')
  note "kill $kill: after ${delay_ms} ms, worker $victim (pid $pid); batches $states"
done

# The survivors finish the tree (every batch of the dead is taken over once its hold lapses).
finished() { [[ $(sql "SELECT status FROM roots WHERE job_id = '$ROOT'") == succeeded ]]; }
wait_until 240 "the batch tree to succeed" finished
for pid in "${PIDS[@]}"; do stop_gracefully "$pid"; done
assert_tree_succeeded "$ROOT"
assert_no_duplicate_content

assert_empty "$(sql "SELECT id, state FROM batches WHERE state NOT IN ('applied', 'abandoned')")" \
  "batch records left open"
assert_empty "$(sql "SELECT provider_batch_id, count(*) FROM batches WHERE provider_batch_id <> ''
                     GROUP BY provider_batch_id HAVING count(*) > 1")" "provider batches with two records"
stats=$(mock_stats)
assert_eq "$(jq -r .batches.created <<<"$stats")" \
  "$(sql_count "SELECT count(*) FROM batches WHERE provider_batch_id <> ''")" \
  "batches created at the endpoint vs recorded"
assert_empty "$(sql "SELECT j.id, count(c.id) FROM jobs j LEFT JOIN llm_calls c ON c.job_id = j.id AND c.used = 1
                     WHERE j.root_id = '$ROOT' GROUP BY j.id HAVING count(c.id) <> 1")" \
  "steps whose answer was used other than once (job, uses)"
assert_batch_billed_as_logged
note "$(sql_count "SELECT count(*) FROM batches") batch records after $KILLS kills; nothing lost or doubled"
