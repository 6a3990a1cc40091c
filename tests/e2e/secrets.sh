#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Secrets (SQLite here; postgres_secrets.sh runs it on PostgreSQL): the API key is taken from the
# environment or a file, never from the command line, and appears nowhere hydrate writes: not in
# its logs (at debug level), its error messages (a wrong key included), its --json output, its
# exports and metrics, the database, or a worker's argv.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init secrets "$E2E_BACKEND"

KEY="sk-hydrate-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WRONG="sk-wrong-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# db_dump: everything the database holds, as text.
db_dump() {
  if [[ $E2E_BACKEND == postgres ]]; then
    pg_dump --no-owner "$PG_URL"
  else
    sqlite3 -batch -cmd ".timeout 10000" "$E2E_DB" .dump
  fi
}

# There is no flag for it: a key on the command line would be in every process listing.
run "$HYDRATE_BIN" work --api-key "$KEY"
assert_eq 2 "$RUN_RC" "exit status of work --api-key"

start_mock --api-key "$KEY" --latency-ms 100
submit_small

# From the environment, at debug level, with a worker whose argv is checked while it runs.
export HYDRATE_LLM_API_KEY=$KEY
spawn WORKER worker "$HYDRATE_BIN" -v work --until-idle --concurrency 2 --progress
wait_until 30 "the worker to send a call" grep -q . "$E2E_DIR/worker.err"
if process_alive "$WORKER"; then
  ARGV=$(tr '\0' ' ' <"/proc/$WORKER/cmdline")
  [[ $ARGV != *"$KEY"* ]] || fail "the key is in the worker's argv: $ARGV"
  [[ $(tr '\0' '\n' <"/proc/$WORKER/environ") == *"$KEY"* ]] || fail "the worker's key did not come from its environment"
fi
reap "$WORKER" 120
assert_eq 0 "$REAP_RC" "exit status of the worker"
assert_tree_succeeded "$ROOT"
unset HYDRATE_LLM_API_KEY

# From a file, and a wrong key: the endpoint's 401 is reported without the key.
mkdir "$E2E_DIR/secret"
printf '%s\n' "$KEY" >"$E2E_DIR/secret/key"
chmod 600 "$E2E_DIR/secret/key"
hy --json submit --language en --board CBSE --grade 2 --subject ART --chapters 1 \
  --topics-per-chapter 1 --questions-per-topic 1
FILE_ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
HYDRATE_LLM_API_KEY_FILE=$E2E_DIR/secret/key work_until_idle -v
assert_tree_succeeded "$FILE_ROOT"
hy --json submit --language en --board CBSE --grade 3 --subject ART --chapters 1 \
  --topics-per-chapter 1 --questions-per-topic 1
WRONG_ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
HYDRATE_LLM_API_KEY=$WRONG run "$HYDRATE_BIN" -v work --until-idle
status_json "$WRONG_ROOT"
assert_eq failed "$(jqs .status)" "status of a root worked with a wrong key"
assert_contains "$(jqs '.errors[0].error')" "401" "the error of a wrong key"

# Everything hydrate wrote or printed, and the database.
for root in "$ROOT" "$FILE_ROOT" "$WRONG_ROOT"; do
  hy --json status "$root"
  hy export "$root" --format markdown -o "$E2E_DIR/export-$root.md"
done
hy metrics >"$E2E_DIR/metrics.prom"
hy -v reconcile --metrics-file "$E2E_DIR/reconcile.prom"
db_dump >"$E2E_DIR/database.dump"
assert_ge 1000 "$(wc -c <"$E2E_DIR/database.dump")" "bytes of the database dump"
for secret in "$KEY" "$WRONG" "${KEY:10:16}" "${WRONG:9:16}"; do
  # Not searched: the key file, the endpoint's logs and the commands this test ran.
  LEAKS=$(grep -rlF -- "$secret" "$E2E_DIR" | grep -Ev '/(secret/key|mock\.[0-9]+\.(out|err)|run\.[0-9]+\.cmd)$' || true)
  assert_eq "" "$LEAKS" "files holding (part of) an API key"
done
