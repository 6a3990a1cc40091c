#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Crash anywhere (SQLite here; postgres_chaos.sh runs it on PostgreSQL): workers are killed with
# SIGKILL at CHAOS_KILLS (20) random moments of one run — between claims, mid-call, mid-commit —
# and restarted each time; then `reconcile` and one last worker finish the tree. The result has the
# shape of a fault-free run of the same slot against the same endpoint seed (counts per level,
# chapter and topic titles by position; the reference runs alongside, on an endpoint and a SQLite
# database of its own), nothing duplicated, no orphan, no step left running; the
# call log misses at most the calls in flight at the kills and never holds more than was billed;
# status prices exactly the logged tokens.
#
# The kill schedule comes from CHAOS_SEED (printed; random when unset): rerun a failure with the
# same CHAOS_SEED and CHAOS_KILLS. scripts/chaos runs a longer mode (more kills, a bigger tree).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init chaos "$E2E_BACKEND"

KILLS=${CHAOS_KILLS:-20}
SEED=${CHAOS_SEED:-$((($(date +%s%N) / 1000) % 1000000))}
RANDOM=$SEED
WORKERS=2       # worker processes alive at any time
IN_FLIGHT=2     # model calls in flight per worker: each kill loses at most this many
LEASE_SECONDS=1 # a dead worker's steps are taken over a second later
# Each kill costs the steps in flight an attempt: leave room so that no step fails for good.
printf 'work.max_attempts = 12\n' >"$E2E_DIR/hydrate.conf"
export HYDRATE_CONFIG=$E2E_DIR/hydrate.conf
# The tree grows with the kills so that the run outlasts them: about 9 steps per kill (with seed
# 11 the endpoint plans 6 chapters of 15 topics for 5 asked), where 4 calls of 500 ms in flight
# and the kills let through at most 8 steps a second, and each kill takes half a second or more.
CHAPTERS=$(((KILLS * 25 + 99) / 100))
((CHAPTERS >= 4)) || CHAPTERS=4
((CHAPTERS <= 200)) || CHAPTERS=200
SLOT=(--language en --board CBSE --grade 4 --subject SCIENCE
  --chapters "$CHAPTERS" --topics-per-chapter 15 --questions-per-topic 1)
note "chaos seed $SEED, $KILLS kills, $CHAPTERS chapters (rerun: CHAOS_SEED=$SEED CHAOS_KILLS=$KILLS)"

# The reference: the same slot, nothing killed, run alongside in a SQLite database of its own
# against an endpoint of its own with the same seed (so the main endpoint bills only the run
# under fire).
start_mock --seed 11 --latency-ms 500
REFERENCE_DB=sqlite:$E2E_DIR/reference.db
hy --db "$REFERENCE_DB" --json submit "${SLOT[@]}"
REFERENCE=$(jq -er .rootJobId <<<"$RUN_OUT")
spawn REFERENCE_WORKER reference "$HYDRATE_BIN" --db "$REFERENCE_DB" work --until-idle --concurrency 64
start_mock --seed 11 --latency-ms 500 # HYDRATE_LLM_URL now names this one

# The run under fire.
hy --json submit "${SLOT[@]}"
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
PIDS=()
GENERATION=0
start_worker() {
  GENERATION=$((GENERATION + 1))
  spawn "PIDS[$1]" "worker$1.$GENERATION" "$HYDRATE_BIN" work --concurrency "$IN_FLIGHT" \
    --lease-seconds "$LEASE_SECONDS"
}
for ((w = 0; w < WORKERS; w++)); do start_worker "$w"; done
started() { (($(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status <> 'pending'") > 0)); }
wait_until 60 "the first step to be claimed" started
note "reference and $WORKERS workers running"
HELD_AT_KILLS=0
for ((kill = 1; kill <= KILLS; kill++)); do
  delay_ms=$((50 + RANDOM % 600))
  victim=$((RANDOM % WORKERS))
  pid=${PIDS[$victim]}
  chaos_kill "$delay_ms" "$pid" "$victim"
  start_worker "$victim"
  # One query per kill: the steps the victim left running, and the tree's open steps.
  IFS='|' read -r held open <<<"$(sql "SELECT
    (SELECT count(*) FROM jobs WHERE status = 'running' AND lease_holder LIKE '%:$pid'),
    (SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status IN ('pending', 'running'))")"
  ((open > 0)) || fail "the tree finished before kill $kill of $KILLS; make it bigger"
  HELD_AT_KILLS=$((HELD_AT_KILLS + held))
  note "kill $kill: after ${delay_ms} ms, worker $victim (pid $pid) holding $held step(s); $open open"
done

# Stop the survivors the orderly way, let the last victims' leases lapse, reconcile, finish.
for pid in "${PIDS[@]}"; do
  stop_gracefully "$pid"
  assert_eq 0 "$REAP_RC" "exit status of worker $pid after SIGTERM"
done
now_ms() { date +%s%3N; }
leases_lapsed() {
  (($(sql_count "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_expires_at >= $(now_ms)") == 0))
}
wait_until 30 "the killed workers' leases to expire" leases_lapsed
LEFT_RUNNING=$(sql_count "SELECT count(*) FROM jobs WHERE status = 'running'")
hy --json reconcile
assert_eq false "$(jq -r .skipped <<<"$RUN_OUT")" "reconcile skipped"
assert_eq "$LEFT_RUNNING" "$(jq -r .rescued <<<"$RUN_OUT")" "leases rescued by reconcile"
note "$HELD_AT_KILLS step(s) held by killed workers in all; $LEFT_RUNNING left running, rescued by reconcile"
work_until_idle --concurrency 64

reap "$REFERENCE_WORKER" 300
assert_eq 0 "$REAP_RC" "exit status of the reference run ($(tail -n 1 "$E2E_DIR/reference.err"))"
hy --db "$REFERENCE_DB" --json status "$REFERENCE"
assert_eq succeeded "$(jq -r .status <<<"$RUN_OUT")" "status of the reference run"
tree_shape "$REFERENCE" "$REFERENCE_DB" >"$E2E_DIR/reference.shape"
note "reference: $(head -n 1 "$E2E_DIR/reference.shape")"

assert_tree_succeeded "$ROOT"
tree_shape "$ROOT" >"$E2E_DIR/chaos.shape"
diff -u "$E2E_DIR/reference.shape" "$E2E_DIR/chaos.shape" >"$E2E_DIR/shape.diff" ||
  fail "the tree differs from the fault-free run: $(head -n 20 "$E2E_DIR/shape.diff")"
assert_export_matches "$ROOT"
assert_no_duplicate_content
assert_no_orphans
assert_ge 1 "$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND attempts > 1")" \
  "steps that ran again after a kill"
assert_billing_bounded $((KILLS * IN_FLIGHT))
assert_cost_priced "$ROOT"
