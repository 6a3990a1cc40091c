#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# PostgreSQL restarted mid-run (pg_ctl restart -m fast, on a throwaway cluster of this test's
# own so no other test loses its server): the workers reconnect and the run still finishes,
# nothing duplicated.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
e2e_init postgres_restart
[[ -n ${HYDRATE_TEST_PG:-} ]] || skip "HYDRATE_TEST_PG is not set (scripts/test starts a PostgreSQL server)"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $PGBIN/pg_ctl ]] || fail "PostgreSQL server binaries not found"
PG_CLUSTER=$(mktemp -d -t hydrate-e2e-pg.XXXXXX)  # outside E2E_DIR, which only root may enter
PG_SERVER_URL=$("$HYDRATE_SOURCE_DIR/scripts/pg-throwaway" start "$PG_CLUSTER") || fail "cannot start a cluster"
stop_cluster() { "$HYDRATE_SOURCE_DIR/scripts/pg-throwaway" stop "$PG_CLUSTER"; }
trap '_pg_rc=$?; set +e; trap - ERR; stop_cluster; (exit "$_pg_rc"); _e2e_cleanup' EXIT
PG_URL=$PG_SERVER_URL
export HYDRATE_DB=$PG_URL
pg_ctl_as_owner() { if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" "$@"); else "$PGBIN/pg_ctl" "$@"; fi; }

start_mock --latency-ms 100
hy --json submit --language en --board CBSE --grade 5 --subject MATH \
  --chapters 6 --topics-per-chapter 4 --questions-per-topic 3
ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
WORKERS=()
for i in 1 2; do
  spawn pid "worker$i" "$HYDRATE_BIN" work --until-idle --concurrency 8 --lease-seconds 5
  WORKERS+=("$pid")
done
mid_run() { [[ $(sql_count "SELECT count(*) FROM jobs WHERE status = 'succeeded'") -ge 8 ]]; }
wait_until 120 "some steps to succeed" mid_run
pg_ctl_as_owner -D "$PG_CLUSTER/data" -m fast -w -t 60 restart >/dev/null ||
  fail "pg_ctl restart failed: $(tail -n 5 "$PG_CLUSTER/server.log")"
note "restarted PostgreSQL with $(sql_count "SELECT count(*) FROM jobs WHERE status = 'succeeded'") step(s) done"
for pid in "${WORKERS[@]}"; do
  reap "$pid" 300
  assert_eq 0 "$REAP_RC" "exit status of worker $pid after the restart"
done
# Steps in flight at the restart may have been left running under leases that lapsed: a
# reconcile and a last worker take care of them, as cron would.
hy reconcile
work_until_idle --concurrency 8
pg_assert_tree_exactly_once "$ROOT"
