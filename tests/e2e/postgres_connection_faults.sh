#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional arguments
# PostgreSQL behind a network that loses connections: 4 workers and a reconcile loop reach the
# server through hydrate-cutting-proxy, which resets a connection at a seeded rate per forwarded
# chunk, both directions — mid-handshake, mid-transaction, mid-commit. The first connections it
# accepts (the workers' start-up: opening, migrating) are cut far more often. Every worker rides
# the cuts out and exits 0; every tree succeeds with each step done exactly once; the endpoint
# billed exactly what llm_calls holds, to the token; no content is duplicated.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.bash"
e2e_init postgres_connection_faults
pg_init
[[ -n ${CUTTING_PROXY_BIN:-} && -x ${CUTTING_PROXY_BIN:-} ]] ||
  fail "CUTTING_PROXY_BIN must name the built hydrate-cutting-proxy (got '${CUTTING_PROXY_BIN:-}')"
[[ $PG_URL =~ ^(postgres(ql)?://[^@/]*@?)127\.0\.0\.1:([0-9]+)(/.*)$ ]] ||
  skip "the proxy forwards to 127.0.0.1 only; HYDRATE_TEST_PG is elsewhere: $PG_SERVER_URL"
PG_URL_HEAD=${BASH_REMATCH[1]} PG_PORT=${BASH_REMATCH[3]} PG_URL_PATH=${BASH_REMATCH[4]}

CUT_RATE=${CUT_RATE:-0.01}  # per forwarded chunk, after the first connections
CUT_SEED=${CUT_SEED:-$RANDOM}
note "cut rate $CUT_RATE per chunk, first 8 connections 0.3, seed $CUT_SEED (CUT_SEED=… replays the rates)"
spawn PROXY_PID proxy "$CUTTING_PROXY_BIN" --target-port "$PG_PORT" --cut-rate "$CUT_RATE" \
  --seed "$CUT_SEED" --first-connections 8 --first-cut-rate 0.3
proxy_listening() { grep -q '^listening on 127\.0\.0\.1:[0-9]*$' "$E2E_DIR/proxy.out"; }
wait_until 30 "the proxy to listen" proxy_listening
PROXY_PORT=$(sed -n '1s/^listening on 127\.0\.0\.1://p' "$E2E_DIR/proxy.out")
PROXY_URL="${PG_URL_HEAD}127.0.0.1:$PROXY_PORT$PG_URL_PATH"
note "workers and reconcile reach PostgreSQL through $PROXY_URL"

# Three trees of 105 steps each, submitted straight to the server.
start_mock --latency-ms 20
ROOTS=()
for subject in SCIENCE MATH ENGLISH; do
  hy --json submit --language en --board CBSE --grade 6 --subject "$subject" \
    --chapters 8 --topics-per-chapter 6 --questions-per-topic 2
  ROOTS+=("$(jq -er .rootJobId <<<"$RUN_OUT")")
done
STEPS_PLANNED=$((3 * (1 + 8 + 8 * 6 * 2)))

# Short leases, so that a claim whose commit was cut after it happened (the worker never learns
# its lease tokens) is taken over soon.
WORKERS=()
for i in 1 2 3 4; do
  spawn pid "worker$i" "$HYDRATE_BIN" --db "$PROXY_URL" work --until-idle --concurrency 4 \
    --lease-seconds 10
  WORKERS+=("$pid")
done
# Reconcile as cron would run it, until told to stop. A run that lost its connection exits 1 and
# the next one does the work: each run's exit status and stderr are kept for the checks below.
cat >"$E2E_DIR/reconcile-loop.sh" <<'EOF'
n=0
while [[ ! -e $1/stop-reconcile ]]; do
  n=$((n + 1))
  "$2" --db "$3" reconcile >"$1/reconcile.$n.out" 2>"$1/reconcile.$n.err"
  echo "$n $?" >>"$1/reconcile.rcs"
  sleep 0.5
done
EOF
spawn RECONCILE_PID reconcile bash "$E2E_DIR/reconcile-loop.sh" "$E2E_DIR" "$HYDRATE_BIN" "$PROXY_URL"

for i in "${!WORKERS[@]}"; do
  reap "${WORKERS[$i]}" 500
  assert_eq 0 "$REAP_RC" "exit status of worker $((i + 1)) (stderr: $(tail -n 2 "$E2E_DIR/worker$((i + 1)).err"))"
done
touch "$E2E_DIR/stop-reconcile"
reap "$RECONCILE_PID" 120
kill -TERM "$PROXY_PID"
reap "$PROXY_PID" 30
assert_eq 0 "$REAP_RC" "exit status of the proxy"
TOTALS=$(sed -n 's/^connections \([0-9]*\), chunks \([0-9]*\), cuts \([0-9]*\)$/\1 \2 \3/p' "$E2E_DIR/proxy.out")
read -r CONNECTIONS CHUNKS CUTS <<<"$TOTALS"
note "the proxy forwarded $CHUNKS chunks over $CONNECTIONS connections and cut $CUTS of them"
assert_ge 60 "$CUTS" "connections the proxy cut"

# Every worker saw cuts and retried; some were cut while opening or migrating.
STARTUP_RETRIES=0
for i in 1 2 3 4; do
  err=$E2E_DIR/worker$i.err
  retries=$(grep -c 'retrying in [0-9]* ms' "$err" || true)
  startup=$(grep -Ec '(cannot open PostgreSQL database|migrating the database).*retrying in' "$err" || true)
  STARTUP_RETRIES=$((STARTUP_RETRIES + startup))
  note "worker $i: $retries database call(s) retried ($startup while starting), $(grep -o 'work done: .*' "$err")"
  assert_ge 5 "$retries" "database calls worker $i retried after a cut"
  assert_empty "$(grep -v -e 'retrying in [0-9]* ms' -e 'work done:' "$err" || true)" \
    "lines on worker $i's stderr other than retries and its summary"
done
assert_ge 1 "$STARTUP_RETRIES" "retries of opening or migrating the database, all workers"

# Reconcile runs that failed lost their connection, nothing else.
RUNS=$(grep -c . "$E2E_DIR/reconcile.rcs")
FAILED_RUNS=0
while read -r n rc; do
  ((rc == 0)) && continue
  FAILED_RUNS=$((FAILED_RUNS + 1))
  assert_eq 1 "$rc" "exit status of reconcile run $n"
  assert_contains "$(cat "$E2E_DIR/reconcile.$n.err")" "PostgreSQL" "error of failed reconcile run $n"
  grep -Eq 'lost the connection|went away|cannot open PostgreSQL|cannot reconnect' "$E2E_DIR/reconcile.$n.err" ||
    fail "reconcile run $n failed for another reason than a cut: $(cat "$E2E_DIR/reconcile.$n.err")"
done <"$E2E_DIR/reconcile.rcs"
note "reconcile ran $RUNS time(s), $FAILED_RUNS cut short"
assert_ge 1 "$((RUNS - FAILED_RUNS))" "reconcile runs that completed"

# The work itself: as if no connection had ever been lost. (A step may have called the model
# again — at least once, not exactly once — when its result's commit was lost with its lease.)
note "calls whose answer was not used, by error: $(sql "SELECT coalesce(error, '') || ' x' || count(*) FROM llm_calls
  WHERE used = 0 GROUP BY error" | tr '\n' ';')"
assert_eq "$STEPS_PLANNED" "$(sql_count "SELECT count(*) FROM jobs")" "steps in the three trees"
for root in "${ROOTS[@]}"; do
  pg_assert_tree_exactly_once "$root"
  assert_cost_priced "$root"
done
assert_no_duplicate_content
assert_no_orphans
assert_billing_exact

# --- the limits: an outage longer than work.store_outage_seconds, and a refusal for good ---------
# Every connection cut at its first chunk: the worker retries, then exits 1 naming the database
# (its password masked) and how long it failed.
spawn PROXY_PID proxy-all "$CUTTING_PROXY_BIN" --target-port "$PG_PORT" --cut-rate 1 --seed 1
proxy_all_listening() { grep -q '^listening on 127\.0\.0\.1:[0-9]*$' "$E2E_DIR/proxy-all.out"; }
wait_until 30 "the second proxy to listen" proxy_all_listening
ALL_PORT=$(sed -n '1s/^listening on 127\.0\.0\.1://p' "$E2E_DIR/proxy-all.out")
printf 'work.store_outage_seconds = 2\n' >"$E2E_DIR/outage.conf"
SECRET_URL="postgresql://postgres:s3cret-pw@127.0.0.1:$ALL_PORT$PG_URL_PATH"
run --timeout 60 "$HYDRATE_BIN" --config "$E2E_DIR/outage.conf" --db "$SECRET_URL" work --until-idle
assert_eq 1 "$RUN_RC" "exit status of a worker whose every connection is cut"
LAST_LINE=$(tail -n 1 <<<"$RUN_ERR")
assert_contains "$LAST_LINE" "hydrate: error: gave up on postgresql://postgres:***@127.0.0.1:$ALL_PORT$PG_URL_PATH after 2." \
  "the error of a worker that gave up on its database"
assert_contains "$LAST_LINE" "(the limit, work.store_outage_seconds, is 2 s)" "the limit in that error"
assert_ge 3 "$(grep -c 'retrying in' <<<"$RUN_ERR")" "retries before giving up"
[[ $RUN_ERR != *s3cret-pw* ]] || fail "the database password appears on stderr: $RUN_ERR"
stop_process "$PROXY_PID"
# A database that does not exist: refused for good, so no retry, one line.
run --timeout 60 "$HYDRATE_BIN" --db "${PG_URL_HEAD}127.0.0.1:$PG_PORT/no_such_database_$$" work --until-idle
assert_eq 1 "$RUN_RC" "exit status of a worker whose database does not exist"
assert_eq 1 "$(grep -c . <<<"$RUN_ERR")" "lines on stderr for a database that does not exist"
assert_contains "$RUN_ERR" "does not exist" "the error for a database that does not exist"
