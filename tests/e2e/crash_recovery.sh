#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Crash recovery: a worker killed with SIGKILL mid-run leaves steps `running` under its lease.
# Once the leases (2 s) expire, `reconcile` puts exactly those steps back to pending; a new worker
# finishes the tree with every step succeeded, no content twice, and the export matching status.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init crash_recovery

start_mock --latency-ms 400
submit_small

# No --until-idle: the worker must still be there to be killed, however fast the endpoint is.
spawn WORKER worker "$HYDRATE_BIN" work --concurrency 4 --lease-seconds 2
count_jobs() { sql_count "SELECT count(*) FROM jobs WHERE root_id = '$ROOT' AND status = '$1'"; }
mid_run() { [[ $(count_jobs succeeded) -ge 3 && $(count_jobs running) -ge 1 ]]; }
wait_until 60 "some steps succeeded and others in flight" mid_run
kill -KILL "$WORKER"
reap "$WORKER" 30
assert_eq 137 "$REAP_RC" "exit status of the killed worker"

RUNNING=$(sql "SELECT id FROM jobs WHERE status = 'running' ORDER BY id")
SUCCEEDED_AT_KILL=$(count_jobs succeeded)
IN_FLIGHT=$(grep -c . <<<"$RUNNING" || true)
assert_ge 1 "$IN_FLIGHT" "steps left running by the killed worker"
note "killed the worker with $SUCCEEDED_AT_KILL step(s) succeeded and $IN_FLIGHT in flight"

# Before the leases expire, reconcile must leave them alone (checked when there is time enough to
# start it well before the first expiry, which is nearly always).
now_ms() { date +%s%3N; }
EARLIEST=$(sql_count "SELECT min(lease_expires_at) FROM jobs WHERE status = 'running'")
if (($(now_ms) + 1000 < EARLIEST)); then
  hy --json reconcile
  assert_eq 0 "$(jq -r .rescued <<<"$RUN_OUT")" "leases rescued before they expired"
  assert_eq "$RUNNING" "$(sql "SELECT id FROM jobs WHERE status = 'running' ORDER BY id")" \
    "running steps after an early reconcile"
fi

LATEST=$(sql_count "SELECT max(lease_expires_at) FROM jobs WHERE status = 'running'")
leases_expired() { (($(now_ms) > LATEST + 50)); }
wait_until 30 "the dead worker's leases to expire" leases_expired
hy --json reconcile
assert_eq false "$(jq -r .skipped <<<"$RUN_OUT")" "reconcile skipped"
assert_eq "$IN_FLIGHT" "$(jq -r .rescued <<<"$RUN_OUT")" "leases rescued by reconcile"
assert_eq 0 "$(count_jobs running)" "steps still running after reconcile"
while read -r id; do
  assert_eq pending "$(sql "SELECT status FROM jobs WHERE id = '$id'")" "status of rescued step $id"
  assert_contains "$(sql "SELECT last_error FROM jobs WHERE id = '$id'")" "expired" "last error of rescued step $id"
done <<<"$RUNNING"
assert_ge "$SUCCEEDED_AT_KILL" "$(count_jobs succeeded)" "succeeded steps after reconcile"

work_until_idle --concurrency 4
assert_tree_succeeded "$ROOT"
CHAPTERS=$(sql_count "SELECT count(*) FROM chapters WHERE root_id = '$ROOT'")
TOPICS=$(sql_count "SELECT count(*) FROM topics WHERE root_id = '$ROOT'")
assert_eq $((1 + CHAPTERS + 2 * TOPICS)) "$(jqs .progress.steps.succeeded)" "succeeded steps (1 + chapters + 2 × topics)"
assert_no_duplicate_content
assert_eq "" "$(sql "SELECT 'chapters', job_id, position FROM chapters GROUP BY job_id, position HAVING count(*) > 1
                     UNION ALL SELECT 'topics', job_id, position FROM topics GROUP BY job_id, position HAVING count(*) > 1
                     UNION ALL SELECT 'questions', job_id, position FROM questions GROUP BY job_id, position HAVING count(*) > 1")" \
  "duplicate content rows"
assert_export_matches "$ROOT"
assert_eq "$CHAPTERS $TOPICS $TOPICS $((3 * TOPICS))" "$EXPORT_COUNTS" \
  "chapters, topics, notes, questions in the export (3 questions per topic)"
