#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Singleton reconcile: while another holder's lock is live, `reconcile` does nothing, exits 0 and
# says who holds it; once the lock expires (or is gone) it runs. Several reconcilers started at
# once all exit 0, and the work (here: one expired lease) is done exactly once.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init reconcile_singleton

hy migrate
runs() { sql_count "SELECT count(*) FROM reconcile_runs"; }
now_ms() { date +%s%3N; }

# 1. A live lock held by someone else.
FAR=$(($(now_ms) + 3600 * 1000))
sql "INSERT INTO locks (name, holder, expires_at) VALUES ('reconcile', 'other-host:1', $FAR)"
hy reconcile
assert_contains "$RUN_ERR" "another reconcile holds the lock: other-host:1" "stderr of a reconcile that is locked out"
assert_eq "" "$RUN_OUT" "stdout of a reconcile that is locked out"
hy --json reconcile
assert_eq true "$(jq -r .skipped <<<"$RUN_OUT")" "skipped in --json"
assert_eq other-host:1 "$(jq -r .holder <<<"$RUN_OUT")" "holder in --json"
assert_eq 0 "$(runs)" "reconcile runs recorded while locked out"
assert_eq "other-host:1|$FAR" "$(sql "SELECT holder || '|' || expires_at FROM locks WHERE name = 'reconcile'")" \
  "the other holder's lock after being refused"

# 2. The lock expired: reconcile takes it, runs, and lets it go.
sql "UPDATE locks SET expires_at = $(($(now_ms) - 1000)) WHERE name = 'reconcile'"
hy reconcile
assert_contains "$RUN_OUT" "rescued 0 expired lease(s)" "stdout of a reconcile after the lock expired"
assert_eq 1 "$(runs)" "reconcile runs after the lock expired"
assert_eq 0 "$(sql_count "SELECT count(*) FROM locks WHERE name = 'reconcile'")" "lock rows left after a run"

# 3. No lock row at all.
hy --json reconcile
assert_eq false "$(jq -r .skipped <<<"$RUN_OUT")" "skipped without any lock"
assert_eq 2 "$(runs)" "reconcile runs"

# 4. Several at once, with one piece of work: a step whose worker died long ago.
submit_small
sql "UPDATE jobs SET status = 'running', attempts = 1, lease_holder = 'dead-host:9', lease_token = 'gone',
     lease_expires_at = $(($(now_ms) - 60000)) WHERE id = '$ROOT'"
N=4
PIDS=()
for i in $(seq 1 $N); do
  spawn pid "reconcile.$i" "$HYDRATE_BIN" --json reconcile
  PIDS+=("$pid")
done
RAN=0 SKIPPED=0 RESCUED=0
for i in $(seq 1 $N); do
  reap "${PIDS[$((i - 1))]}" 60
  out=$(cat "$E2E_DIR/reconcile.$i.out") err=$(cat "$E2E_DIR/reconcile.$i.err")
  assert_eq 0 "$REAP_RC" "exit status of concurrent reconcile $i (stderr: $err)"
  skipped=$(jq -r .skipped <<<"$out" 2>/dev/null) || true
  [[ $skipped == true || $skipped == false ]] || fail "reconcile $i printed no JSON verdict: '$out' (stderr: $err)"
  if [[ $skipped == true ]]; then
    SKIPPED=$((SKIPPED + 1))
    assert_contains "$err" "another reconcile holds the lock" "stderr of skipped reconcile $i"
  else
    RAN=$((RAN + 1))
    RESCUED=$((RESCUED + $(jq -r .rescued <<<"$out")))
  fi
done
note "$RAN reconcile(s) ran, $SKIPPED skipped"
assert_ge 1 "$RAN" "concurrent reconciles that ran"
assert_eq "$N" "$((RAN + SKIPPED))" "concurrent reconciles that ran or said why not"
assert_eq $((2 + RAN)) "$(runs)" "reconcile runs recorded (one per reconcile that ran)"
assert_eq 1 "$RESCUED" "expired leases rescued across the concurrent reconciles"
assert_eq pending "$(sql "SELECT status FROM jobs WHERE id = '$ROOT'")" "status of the rescued step"
assert_eq 0 "$(sql_count "SELECT count(*) FROM locks WHERE name = 'reconcile'")" "lock rows left after the runs"

hy metrics
assert_contains "$RUN_OUT" "hydrate_reconciler_runs_total $((2 + RAN))" "reconciler runs metric"

# 5. Two started together as crons on two machines run them, with a minimum interval: exactly one
# does the work; the other exits 0 naming it.
BEFORE=$(runs)
spawn A reconcile.a "$HYDRATE_BIN" --json reconcile --min-interval-seconds 120
spawn B reconcile.b "$HYDRATE_BIN" --json reconcile --min-interval-seconds 120
reap "$A" 60
assert_eq 0 "$REAP_RC" "exit status of reconcile a"
reap "$B" 60
assert_eq 0 "$REAP_RC" "exit status of reconcile b"
VERDICTS=$(jq -r .skipped "$E2E_DIR/reconcile.a.out" "$E2E_DIR/reconcile.b.out" | sort | tr '\n' ' ')
assert_eq "false true " "$VERDICTS" "verdicts of two reconciles started together (skipped)"
assert_eq $((BEFORE + 1)) "$(runs)" "reconcile runs recorded for the pair"
HOLDER=$(sql "SELECT holder FROM locks WHERE name = 'reconcile'")
assert_contains "$(cat "$E2E_DIR/reconcile.a.err" "$E2E_DIR/reconcile.b.err")" \
  "another reconcile holds the lock: $HOLDER" "the skipped one names the one that ran"
