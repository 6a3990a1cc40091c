#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# PostgreSQL: one of four workers is killed with SIGKILL mid-run. The other three and a
# reconcile (after the dead worker's 2-second leases expire) finish the tree with nothing lost
# and nothing duplicated.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
e2e_init postgres_kill_worker
pg_init

start_mock --latency-ms 400
hy --json submit --language en --board CBSE --grade 5 --subject MATH \
  --chapters 6 --topics-per-chapter 4 --questions-per-topic 3
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")

# No --until-idle: the victim must still be there to be killed, however fast the endpoint is.
spawn VICTIM victim "$HYDRATE_BIN" work --concurrency 8 --lease-seconds 2
SURVIVORS=()
for i in 1 2 3; do
  spawn pid "worker$i" "$HYDRATE_BIN" work --until-idle --concurrency 8 --lease-seconds 2
  SURVIVORS+=("$pid")
done
held_by_victim() {
  [[ $(sql_count "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_holder LIKE '%:$VICTIM'") -ge 1 &&
     $(sql_count "SELECT count(*) FROM jobs WHERE status = 'succeeded'") -ge 5 ]]
}
wait_until 120 "the victim to hold steps mid-run" held_by_victim
kill -KILL "$VICTIM"
HELD=$(sql_count "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_holder LIKE '%:$VICTIM'")
reap "$VICTIM" 30
assert_eq 137 "$REAP_RC" "exit status of the killed worker"
note "killed worker $VICTIM while it held $HELD step(s)"

# The survivors take the expired leases over themselves; a reconcile meanwhile must not break
# anything (it rescues whatever is still expired when it runs).
hy --json reconcile
assert_eq false "$(jq -r .skipped <<<"$RUN_OUT")" "reconcile skipped"
for pid in "${SURVIVORS[@]}"; do
  reap "$pid" 300
  assert_eq 0 "$REAP_RC" "exit status of surviving worker $pid"
done
hy --json reconcile
pg_assert_tree_exactly_once "$ROOT"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE lease_holder LIKE '%:$VICTIM'")" \
  "steps still leased to the dead worker"
