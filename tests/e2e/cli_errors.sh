#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# The command line's errors: each mistake gets its documented exit code (2 usage, 3 over budget,
# 4 not found, 1 failure) and one line on stderr that names the problem; nothing is written when a
# command is refused; an unreachable endpoint fails the step instead of hanging; a corrupt
# database file is reported and left untouched.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init cli_errors

WELL_FORMED_UNKNOWN=01JABCDEFGHJKMNPQRSTVWXYZ0
SLOT=(--language en --board CBSE --grade 1 --subject MATH)

# expect CODE WHAT cmd…: runs hydrate, requires exit CODE and a `hydrate: error:` line on stderr.
expect() {
  local code=$1 what=$2
  shift 2
  run "$HYDRATE_BIN" "$@"
  [[ $RUN_RC == "$code" ]] || fail "$what: hydrate $* exited with $RUN_RC, expected $code (stderr: $RUN_ERR)"
  ERR_LINE=$(grep -m1 '^hydrate: error: ' <<<"$RUN_ERR") ||
    fail "$what: no 'hydrate: error:' line on stderr: '$RUN_ERR'"
  [[ $RUN_ERR != *$'\n'*$'\n'* ]] || fail "$what: more than two lines on stderr: $RUN_ERR"
}
no_db_file() { [[ ! -e $E2E_DB ]] || fail "$1: the database file was created"; }

# --- usage errors (2) ------------------------------------------------------------------------
expect 2 "missing --subject" submit --language en --board CBSE --grade 1
assert_contains "$ERR_LINE" "--subject" "error line of a missing required flag"
expect 2 "missing --board" estimate --language en --grade 1 --subject MATH
assert_contains "$ERR_LINE" "--board" "error line of a missing required flag"
expect 2 "typo in a subcommand" sumbit "${SLOT[@]}"
assert_contains "$ERR_LINE" "did you mean 'submit'" "error line of a subcommand typo"
expect 2 "typo in a subcommand" reconsile
assert_contains "$ERR_LINE" "did you mean 'reconcile'" "error line of a subcommand typo"
expect 2 "unknown subcommand" frobnicate
expect 2 "no subcommand"
expect 2 "unknown flag" work --until-idel
assert_contains "$ERR_LINE" "--until-idel" "error line of an unknown flag"
expect 2 "out-of-range option" submit "${SLOT[@]}" --chapters 0
expect 2 "unknown export format" export "$WELL_FORMED_UNKNOWN" --format pdf
for command in cancel export requeue; do
  expect 2 "malformed job id for $command" "$command" not-a-job-id
  assert_contains "$ERR_LINE" "not a job id" "error line of a malformed job id ($command)"
done
expect 2 "requeue without a target" requeue
expect 2 "unknown --db scheme" --db mysql://localhost/hydrate status
assert_contains "$ERR_LINE" "mysql" "error line of an unknown --db scheme"
HYDRATE_DB=redis://localhost  # the environment goes through the same check
expect 2 "unknown HYDRATE_DB scheme" status
assert_contains "$ERR_LINE" "redis" "error line of an unknown HYDRATE_DB scheme"
HYDRATE_DB=sqlite:$E2E_DB
no_db_file "usage errors"

# --- over budget (3) ---------------------------------------------------------------------------
expect 3 "estimate over --max-cost" estimate "${SLOT[@]}" --max-cost 0.0001
assert_contains "$ERR_LINE" "exceeds --max-cost" "error line of estimate over budget"
[[ -n $RUN_OUT ]] || fail "estimate over budget printed no estimate on stdout"
hy estimate "${SLOT[@]}" --max-cost 1000
# Batch mode: the same tokens at the batch price (half, data/prices.tsv) pass a gate between the
# two prices that the online estimate fails; a mode that does not exist is a usage error.
hy --json estimate "${SLOT[@]}"
online=$(jq -er .estimates.estimatedCostUsd <<<"$RUN_OUT")
hy --json estimate "${SLOT[@]}" --mode batch
batch=$(jq -er .estimates.estimatedCostUsd <<<"$RUN_OUT")
assert_eq batch "$(jq -r .estimates.mode <<<"$RUN_OUT")" "mode of a batch estimate"
assert_eq "$online" "$(jq -r .estimates.onlineCostUsd <<<"$RUN_OUT")" "its online cost"
assert_eq 4320 "$(jq -r .estimates.estimatedDurationMins <<<"$RUN_OUT")" "its duration bound"
awk -v o="$online" -v b="$batch" 'BEGIN { exit !(b > 0 && (b - o / 2) ^ 2 < 1e-12) }' ||
  fail "batch estimate \$$batch is not half the online \$$online"
gate=$(awk -v o="$online" 'BEGIN { printf "%.6f", o * 0.75 }')
hy estimate "${SLOT[@]}" --mode batch --max-cost "$gate"
expect 3 "online estimate over a gate batch mode passes" estimate "${SLOT[@]}" --max-cost "$gate"
expect 2 "an unknown mode" estimate "${SLOT[@]}" --mode weekly
assert_contains "$ERR_LINE" "--mode" "error line of an unknown mode"
# A batch-mode root needs a Batch API: on another endpoint it is refused, not left to wait.
HYDRATE_LLM_FLAVOR=ollama expect 2 "batch mode on an endpoint without a Batch API" submit "${SLOT[@]}" --mode batch
assert_contains "$ERR_LINE" "--mode batch needs an OpenAI endpoint's Batch API, but the endpoint is ollama" \
  "error line of batch mode on ollama"
no_db_file "a refused batch-mode submit"
expect 3 "submit over --max-cost" submit "${SLOT[@]}" --max-cost 0.0001
assert_contains "$ERR_LINE" "exceeds --max-cost" "error line of submit over budget"
assert_eq "" "$RUN_OUT" "stdout of a refused submit"
if [[ -e $E2E_DB ]]; then
  assert_eq 0 "$(sql_count "SELECT (SELECT count(*) FROM roots) + (SELECT count(*) FROM jobs)")" \
    "rows stored by a refused submit"
fi
no_db_file "estimate and refused submit"

# --- not found (4) -------------------------------------------------------------------------------
expect 4 "status with no database" status "$WELL_FORMED_UNKNOWN"
no_db_file "status of a missing database"
hy migrate
for command in status cancel export requeue; do
  expect 4 "unknown job for $command" "$command" "$WELL_FORMED_UNKNOWN"
  assert_contains "$ERR_LINE" "$WELL_FORMED_UNKNOWN" "error line of an unknown job ($command)"
done
for command in status cancel export requeue; do
  expect 2 "malformed job id for $command" "$command" not-a-job-id
  assert_contains "$ERR_LINE" "not-a-job-id" "error line of a malformed job id ($command)"
  assert_contains "$ERR_LINE" "not a job id" "error line of a malformed job id ($command)"
done
expect 4 "requeue --failed with an unknown root" requeue --failed --root "$WELL_FORMED_UNKNOWN"
assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs")" "jobs after the not-found commands"

# --- an unreachable endpoint: the step fails with the connection error once its transient
# retries are spent, nothing hangs -------------------------------------------------------------
start_mock
CLOSED_URL=$HYDRATE_LLM_URL
stop_mock  # the port it had is closed now
export HYDRATE_LLM_URL=$CLOSED_URL HYDRATE_LLM_TIMEOUT_MS=2000 HYDRATE_RETRY_MAX_TRANSIENT=4
PORT=${CLOSED_URL##*:}
PORT=${PORT%%/*}
submit_small
START=$SECONDS
run --timeout 90 "$HYDRATE_BIN" work --until-idle --concurrency 2
note "work against a closed port ended in $((SECONDS - START)) s with exit $RUN_RC"
[[ $RUN_RC == 0 || $RUN_RC == 1 ]] || fail "work against a closed port exited with $RUN_RC: $RUN_ERR"
status_json "$ROOT"
assert_eq failed "$(jqs .status)" "root status after its endpoint was unreachable"
LAST_ERROR=$(jqs '.errors[0].error // ""')
shopt -s nocasematch
[[ $LAST_ERROR == *connect* ]] || fail "the last error does not name the connection problem: '$LAST_ERROR'"
shopt -u nocasematch
assert_contains "$LAST_ERROR" "$PORT" "the last error names the port"
assert_contains "$LAST_ERROR" "gave up after 4 transient retries" "the last error says the retries ran out"
unset HYDRATE_RETRY_MAX_TRANSIENT
assert_eq 5 "$(sql_count "SELECT count(*) FROM llm_calls WHERE job_id = '$ROOT'")" "calls logged for the unreachable endpoint"

# --- a corrupt database file: refused with one line, left as it was ------------------------------
CORRUPT=$E2E_DIR/corrupt.db
head -c 65536 /dev/urandom >"$CORRUPT"
printf 'not a database' | dd of="$CORRUPT" conv=notrunc status=none  # never a valid header by chance
BEFORE=$(sha256sum <"$CORRUPT")
for args in "status" "status $WELL_FORMED_UNKNOWN" "migrate" "reconcile" "metrics" "work --until-idle" \
  "submit ${SLOT[*]} ${SMALL_TREE[*]}"; do
  # shellcheck disable=SC2086  # word splitting of the argument list is intended
  run "$HYDRATE_BIN" --db "sqlite:$CORRUPT" $args
  ((RUN_RC != 0)) || fail "hydrate $args on a corrupt database exited 0"
  ((RUN_RC != 124)) || fail "hydrate $args on a corrupt database hung"
  [[ $RUN_ERR =~ ^hydrate:\ error:\ [^$'\n']+$ ]] || fail "hydrate $args on a corrupt database: stderr is not one error line: '$RUN_ERR'"
  assert_contains "$RUN_ERR" "corrupt" "error of hydrate $args on a corrupt database"
  assert_eq "$BEFORE" "$(sha256sum <"$CORRUPT")" "checksum of the corrupt file after hydrate $args"
done
assert_eq "" "$(ls "$CORRUPT"-* 2>/dev/null || true)" "files created beside the corrupt database"

# --- last, each in a subshell so that one failing does not hide the others ----------------------
LATE_FAILURES=0
# A malformed job id is a usage error whether or not the database exists.
(
  HYDRATE_DB=sqlite:$E2E_DIR/never-created.db
  expect 2 "malformed job id for status without a database" status not-a-job-id
  assert_contains "$ERR_LINE" "not a job id" "error line of a malformed job id (status, no database)"
) || LATE_FAILURES=$((LATE_FAILURES + 1))
# An unknown subcommand is named in the error (not "a subcommand is required").
(
  expect 2 "unknown subcommand" frobnicate
  assert_contains "$ERR_LINE" "frobnicate" "error line of an unknown subcommand"
) || LATE_FAILURES=$((LATE_FAILURES + 1))
((LATE_FAILURES == 0)) || fail "$LATE_FAILURES check(s) above failed"
