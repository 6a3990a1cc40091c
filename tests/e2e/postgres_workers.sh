#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# PostgreSQL, one queue for many workers: 4 worker processes with 8 calls in flight each finish
# a tree of over 1,000 steps. Every step succeeds exactly once in the content tables (no
# duplicate, no missing row), and the per-level counts of status match the export.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
e2e_init postgres_workers
pg_init

start_mock --latency-ms 20
hy --json submit --language en --board CBSE --grade 8 --subject SCIENCE \
  --chapters 30 --topics-per-chapter 20 --questions-per-topic 2
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")

START=$SECONDS
WORKERS=()
for i in 1 2 3 4; do
  spawn pid "worker$i" "$HYDRATE_BIN" work --until-idle --concurrency 8
  WORKERS+=("$pid")
done
for pid in "${WORKERS[@]}"; do
  reap "$pid" 400
  assert_eq 0 "$REAP_RC" "exit status of worker $pid"
done
ELAPSED=$((SECONDS - START))
note "4 workers finished in $ELAPSED s"

STEPS=$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT'")
assert_ge 1000 "$STEPS" "steps in the tree"
pg_assert_tree_exactly_once "$ROOT"
STEPS_PER_S=$(python3 -c "print(f'{$STEPS / max(1, $ELAPSED):.0f}')")
note "$STEPS steps, about $STEPS_PER_S steps/s with 4 workers x 8 in flight at 20 ms per call"
# Every worker took part: the queue spread over the processes.
for i in 1 2 3 4; do
  assert_contains "$(cat "$E2E_DIR/worker$i.err")" "work done:" "summary of worker $i"
  DONE=$(sed -n 's/.*work done: \([0-9]*\) step(s) succeeded.*/\1/p' "$E2E_DIR/worker$i.err")
  assert_ge 1 "$DONE" "steps worker $i finished"
done
