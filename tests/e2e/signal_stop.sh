#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# SIGTERM and SIGINT to a worker: it stops claiming, finishes the calls in flight (their results
# are written), and exits 0, leaving no step running and the rest of the tree pending for the
# next worker, which finishes it.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init signal_stop

start_mock --latency-ms 600
submit_small
count_jobs() { sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status = '$1'"; }

for signal in TERM INT; do
  spawn WORKER "worker.$signal" "$HYDRATE_BIN" work --concurrency 4
  in_flight() { [[ $(count_jobs running) -ge 1 ]]; }
  wait_until 60 "the worker to have calls in flight" in_flight
  HELD=$(sql "SELECT id FROM jobs WHERE status = 'running' ORDER BY id")
  SUCCEEDED=$(count_jobs succeeded)
  kill -"$signal" "$WORKER"
  reap "$WORKER" 60
  assert_eq 0 "$REAP_RC" "exit status of the worker after SIG$signal"
  assert_eq 0 "$(count_jobs running)" "steps left running after SIG$signal"
  while read -r id; do
    assert_eq succeeded "$(sql "SELECT status FROM jobs WHERE id = '$id'")" \
      "step $id that was in flight at SIG$signal"
  done <<<"$HELD"
  assert_ge 1 "$(count_jobs pending)" "steps left pending for the next worker after SIG$signal"
  assert_ge $((SUCCEEDED + $(grep -c . <<<"$HELD"))) "$(count_jobs succeeded)" "steps succeeded after SIG$signal"
  note "SIG$signal: $(grep -c . <<<"$HELD") call(s) in flight finished, $(count_jobs pending) step(s) left pending"
done

work_until_idle --concurrency 8
assert_tree_succeeded "$ROOT"
assert_no_duplicate_content
