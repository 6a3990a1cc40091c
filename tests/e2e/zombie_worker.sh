#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Zombie worker (SQLite here; postgres_zombie_worker.sh runs it on PostgreSQL): a worker frozen
# with SIGSTOP while its model calls are in flight outlives its 2-second leases; another worker
# takes its steps over and finishes the whole tree. Resumed with SIGCONT, the zombie receives its
# late answers and writes nothing — no job, content or counter changes, fenced by the lease
# token — yet each of its late calls is logged in llm_calls, marked not used, so the endpoint's
# bill and hydrate's call log still agree to the token.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init zombie_worker "$E2E_BACKEND"

start_mock --latency-ms 1500
submit_small

# Idle outside any transaction: a process frozen inside one would block the other worker (on
# SQLite, every writer), which is not the case under test.
no_open_transaction() {
  if [[ $E2E_BACKEND == postgres ]]; then
    (($(sql_count "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                   AND state LIKE 'idle in transaction%'") == 0))
  else
    sqlite3 -batch -cmd ".timeout 0" "$E2E_DB" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1
  fi
}
held_by() { sql_count "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_holder LIKE '%:$1'"; }

spawn ZOMBIE zombie "$HYDRATE_BIN" --json work --until-idle --concurrency 4 --lease-seconds 2
holds_chapters() { (($(held_by "$ZOMBIE") >= 2)); }
wait_until 60 "the worker to hold chapter steps with their calls in flight" holds_chapters
freeze() {
  kill -STOP "$ZOMBIE"
  no_open_transaction && return 0
  kill -CONT "$ZOMBIE"
  return 1
}
wait_until 30 "the worker frozen outside a transaction" freeze
HELD=$(sql "SELECT id FROM jobs WHERE status = 'running' AND lease_holder LIKE '%:$ZOMBIE' ORDER BY id")
HELD_COUNT=$(grep -c . <<<"$HELD" || true)
assert_ge 1 "$HELD_COUNT" "steps held by the frozen worker"
note "froze worker $ZOMBIE holding $HELD_COUNT step(s)"

# Another worker waits out the zombie's leases, takes its steps over and finishes the tree. Its
# own leases are long: on a loaded machine a 2-second lease could lapse under it, and it would
# claim its own steps again.
spawn HELPER helper "$HYDRATE_BIN" work --until-idle --concurrency 8 --lease-seconds 30
reap "$HELPER" 120
assert_eq 0 "$REAP_RC" "exit status of the other worker ($(tail -n 2 "$E2E_DIR/helper.err"))"
assert_tree_succeeded "$ROOT"
while read -r id; do
  assert_eq succeeded "$(sql "SELECT status FROM jobs WHERE id = '$id'")" "status of step $id taken from the zombie"
  assert_eq 2 "$(sql "SELECT attempts FROM jobs WHERE id = '$id'")" "attempts of step $id (zombie, then the other worker)"
done <<<"$HELD"
process_alive "$ZOMBIE" || fail "the frozen worker is gone"
STEPS_BEFORE=$(steps_snapshot "$ROOT")
CONTENT_BEFORE=$(content_snapshot "$ROOT")
ROOTS_BEFORE=$(sql "SELECT status, finished_at FROM roots")
METRICS_BEFORE=$(sql "SELECT name, labels, value FROM metrics WHERE name LIKE 'hydrate_jobs%' ORDER BY 1, 2")
LAST_CALL=$(sql_count "SELECT max(id) FROM llm_calls")

# The zombie wakes up: its late answers arrive, every write is refused, and it leaves.
kill -CONT "$ZOMBIE"
reap "$ZOMBIE" 60
assert_eq 0 "$REAP_RC" "exit status of the resumed worker ($(tail -n 2 "$E2E_DIR/zombie.err"))"
REPORT=$(tail -n 1 "$E2E_DIR/zombie.out")
note "zombie: $REPORT"
assert_eq "$HELD_COUNT" "$(jq -r .lostLeases <<<"$REPORT")" "leases the resumed worker found lost"

assert_eq "$STEPS_BEFORE" "$(steps_snapshot "$ROOT")" "jobs after the zombie resumed"
assert_eq "$CONTENT_BEFORE" "$(content_snapshot "$ROOT")" "content after the zombie resumed"
assert_eq "$ROOTS_BEFORE" "$(sql "SELECT status, finished_at FROM roots")" "roots after the zombie resumed"
assert_eq "$METRICS_BEFORE" "$(sql "SELECT name, labels, value FROM metrics WHERE name LIKE 'hydrate_jobs%' ORDER BY 1, 2")" \
  "job counters after the zombie resumed"
LATE=$(sql "SELECT job_id || ' ' || used || ' ' || (prompt_tokens + completion_tokens) || ' ' || coalesce(error, '')
            FROM llm_calls WHERE id > $LAST_CALL ORDER BY job_id")
assert_eq "$HELD" "$(cut -d' ' -f1 <<<"$LATE")" "steps of the late calls logged after the zombie resumed"
while read -r id used tokens error; do
  assert_eq 0 "$used" "late call of step $id marked used"
  assert_ge 1 "$tokens" "tokens of the late call of step $id"
  assert_contains "$error" "lease lost" "error logged with the late call of step $id"
done <<<"$LATE"
assert_no_duplicate_content
assert_no_orphans
assert_billing_exact
assert_cost_priced "$ROOT"
