#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# SQLite under contention: four worker processes with eight calls in flight each, and a loop of
# `reconcile` runs, share one SQLite file through a tree of over 2,000 steps. No process exits
# non-zero or says "database is locked" (or busy) on stderr — the busy timeout and BEGIN IMMEDIATE
# keep contention out of the operator's sight — and the tree succeeds exactly once: every step
# completed once, one used call each, nothing duplicated.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init sqlite_contention

start_mock
hy --json submit --language en --board CBSE --grade 9 --subject SCIENCE \
  --chapters 40 --topics-per-chapter 25 --questions-per-topic 1
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")

# The reconcile loop ends at the first failing run, with its exit status, or once told to stop.
# shellcheck disable=SC2016  # expanded by the inner shell
spawn RECONCILER reconcile bash -c '
  runs=0
  until [[ -e stop ]]; do
    "$0" --json reconcile || { rc=$?; echo "reconcile run $runs exited with $rc" >&2; exit "$rc"; }
    runs=$((runs + 1))
  done
  echo "$runs runs" >&2' "$HYDRATE_BIN"
START=$SECONDS
WORKERS=()
for i in 1 2 3 4; do
  spawn pid "worker$i" "$HYDRATE_BIN" work --until-idle --concurrency 8
  WORKERS+=("$pid")
done
for pid in "${WORKERS[@]}"; do
  reap "$pid" 300
  assert_eq 0 "$REAP_RC" "exit status of worker $pid ($(tail -n 2 "$E2E_DIR"/worker*.err | tr '\n' ' '))"
done
ELAPSED=$((SECONDS - START))
touch "$E2E_DIR/stop"
reap "$RECONCILER" 120
assert_eq 0 "$REAP_RC" "exit status of the reconcile loop ($(tail -n 1 "$E2E_DIR/reconcile.err"))"
RUNS=$(sed -n 's/^\([0-9]*\) runs$/\1/p' "$E2E_DIR/reconcile.err")
assert_ge 2 "$RUNS" "reconcile runs during the work"
assert_clean_stderr "$E2E_DIR"/worker*.err "$E2E_DIR/reconcile.err"

STEPS=$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT'")
assert_ge 2000 "$STEPS" "steps in the tree"
note "$STEPS steps in $ELAPSED s with 4 workers and $RUNS reconcile runs"
assert_tree_succeeded "$ROOT"
assert_no_duplicate_content
assert_no_orphans
assert_eq "" "$(sql "SELECT j.id FROM jobs j WHERE (SELECT count(*) FROM llm_calls c WHERE c.job_id = j.id AND c.used = 1) <> 1")" \
  "steps without exactly one used call"
assert_eq "$STEPS" "$(sql "SELECT CAST(sum(value) AS INTEGER) FROM metrics WHERE name = 'hydrate_jobs_completed_total'")" \
  "steps counted as completed (each exactly once)"
assert_eq 1 "$(sql_count "SELECT count(*) FROM roots")" "roots"
assert_export_matches "$ROOT"
assert_billing_exact
