#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# PostgreSQL: concurrent migrations, then the reconcile singleton across processes. With the lock held by another machine's
# live reconciler, ten reconcilers all skip, naming it. Once its lock expired, ten started at once
# with --min-interval-seconds (as crons on several machines run it): exactly one does the work,
# the rest exit 0 saying who holds the lock. Without a minimum interval, the runs that do the
# work never overlap in time.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
e2e_init postgres_reconcilers
pg_init

# Six processes migrating a fresh database at once do not collide (an advisory lock orders them).
MIGRATIONS=("$HYDRATE_SOURCE_DIR"/sql/postgres/[0-9]*.sql)
NEWEST=${#MIGRATIONS[@]}
MIGRATORS=()
for i in 1 2 3 4 5 6; do
  spawn pid "migrate$i" "$HYDRATE_BIN" --json migrate
  MIGRATORS+=("$pid")
done
i=0
for pid in "${MIGRATORS[@]}"; do
  i=$((i + 1))
  reap "$pid" 60
  assert_eq 0 "$REAP_RC" "exit status of concurrent migrate $i ($(cat "$E2E_DIR/migrate$i.err"))"
  assert_eq "$NEWEST" "$(jq -r .schemaVersion "$E2E_DIR/migrate$i.out")" \
    "schema version seen by migrate $i"
done
assert_eq "$(seq -s, 1 "$NEWEST")" \
  "$(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")" \
  "recorded migrations"

start_ten() {
  RECONCILERS=()
  local i
  for i in $(seq 1 10); do
    spawn pid "reconcile$1.$i" "$HYDRATE_BIN" --json reconcile "${@:2}"
    RECONCILERS+=("$pid")
  done
  SKIPPED=0
  WORKED=0
  i=0
  for pid in "${RECONCILERS[@]}"; do
    i=$((i + 1))
    reap "$pid" 60
    assert_eq 0 "$REAP_RC" "exit status of reconciler $i"
    local out err
    out=$(cat "$E2E_DIR/reconcile$1.$i.out")
    err=$(cat "$E2E_DIR/reconcile$1.$i.err")
    if [[ $(jq -r .skipped <<<"$out") == true ]]; then
      SKIPPED=$((SKIPPED + 1))
      assert_contains "$err" "another reconcile holds the lock:" "message of skipped reconciler $i"
    else
      assert_eq false "$(jq -r .skipped <<<"$out")" "output of reconciler $i: $out"
      WORKED=$((WORKED + 1))
    fi
  done
}

# 1. A live holder elsewhere: nobody runs.
FAR=$(($(date +%s%3N) + 3600000))
sql "INSERT INTO locks (name, holder, expires_at) VALUES ('reconcile', 'other-host:4242', $FAR)"
start_ten held
assert_eq 10 "$SKIPPED" "reconcilers that skipped while other-host:4242 held the lock"
assert_contains "$(cat "$E2E_DIR/reconcileheld.1.err")" "other-host:4242" "the holder named"
assert_eq 0 "$(sql_count "SELECT count(*) FROM reconcile_runs")" "reconcile runs while the lock was held"

# 2. The holder died (its lock expired): exactly one of ten takes it and works.
sql "UPDATE locks SET expires_at = 0"
start_ten interval --min-interval-seconds 120
assert_eq 1 "$WORKED" "reconcilers that did the work with a minimum interval"
assert_eq 9 "$SKIPPED" "reconcilers that skipped with a minimum interval"
assert_eq 1 "$(sql_count "SELECT count(*) FROM reconcile_runs")" "recorded reconcile runs"
HOLDER=$(sql "SELECT holder FROM locks WHERE name = 'reconcile'")
assert_contains "$(cat "$E2E_DIR"/reconcileinterval.*.err)" "another reconcile holds the lock: $HOLDER" \
  "the skipped reconcilers name the one that worked"

# 3. No minimum interval: whoever works, works alone.
sql "DELETE FROM locks; DELETE FROM reconcile_runs"
start_ten free
assert_ge 1 "$WORKED" "reconcilers that did the work"
assert_eq 10 "$((WORKED + SKIPPED))" "reconcilers that either worked or skipped"
assert_eq "$WORKED" "$(sql_count "SELECT count(*) FROM reconcile_runs")" "recorded reconcile runs"
OVERLAPS=$(sql "SELECT a.id, b.id FROM reconcile_runs a JOIN reconcile_runs b ON a.id < b.id
                WHERE a.started_at < b.finished_at AND b.started_at < a.finished_at")
assert_empty "$OVERLAPS" "reconcile runs that overlapped in time"
assert_eq 0 "$(sql_count "SELECT count(*) FROM locks")" "locks left behind"
note "$WORKED of 10 reconcilers did the work one after another, $SKIPPED skipped"
