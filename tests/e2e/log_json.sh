#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# --log-format json (and HYDRATE_LOG_FORMAT): every line a worker writes on stderr is one JSON
# object with time, level and message; every line about a step carries its root's trace id, the
# root, the job and the attempt, and the worker's identity; so one submission can be followed
# across two workers with jq. Text stays the default, and a bad format is a usage error.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init log_json

# Rejections and transient faults make lines at warning and debug level about many steps.
start_mock --latency-ms 20 --rate-invalid 0.25 --rate-500 0.15 --seed 7
submit_small
TRACE_A=$(jq -er .traceId <<<"$RUN_OUT")
ROOT_A=$ROOT
hy --json submit --language en --board CBSE --grade 2 --subject MATH "${SMALL_TREE[@]}"
ROOT_B=$(jq -er .rootJobId <<<"$RUN_OUT")
TRACE_B=$(jq -er .traceId <<<"$RUN_OUT")
[[ $TRACE_A != "$TRACE_B" ]] || fail "two roots share trace id $TRACE_A"

spawn W1 worker1 "$HYDRATE_BIN" -v --log-format json work --until-idle --concurrency 3
HYDRATE_LOG_FORMAT=json spawn W2 worker2 "$HYDRATE_BIN" -v work --until-idle --concurrency 3
reap "$W1" 180
assert_eq 0 "$REAP_RC" "exit status of worker 1"
reap "$W2" 180
assert_eq 0 "$REAP_RC" "exit status of worker 2"
assert_tree_succeeded "$ROOT_A"
assert_tree_succeeded "$ROOT_B"

LOGS=$(cat "$E2E_DIR/worker1.err" "$E2E_DIR/worker2.err")
LINES=$(grep -c . <<<"$LOGS")
assert_ge 40 "$LINES" "log lines of two workers at debug level"
# Every line is one object with the three fields every line has.
jq -e -s 'all(.[]; (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"))
                  and (.level | IN("debug","info","warning","error"))
                  and (.message | type == "string" and length > 0))' <<<"$LOGS" >/dev/null ||
  fail "a json log line lacks time, level or message: $(head -n 3 <<<"$LOGS")"
# Each worker names itself on each of its lines, with its own HOST:PID.
for n in 1 2; do
  pid_var=W$n
  WORKERS=$(jq -r .worker "$E2E_DIR/worker$n.err" | sort -u)
  assert_eq "$(hostname):${!pid_var}" "$WORKERS" "the worker field of worker $n"
done
# Lines about a step carry the root's trace id, the root, the job and the attempt.
STEP_LINES=$(jq -c 'select(.jobId)' <<<"$LOGS")
assert_ge 30 "$(grep -c . <<<"$STEP_LINES")" "log lines about steps"
BAD=$(jq -c --arg a "$ROOT_A" --arg ta "$TRACE_A" --arg b "$ROOT_B" --arg tb "$TRACE_B" \
  'select((((.rootJobId == $a and .traceId == $ta) or (.rootJobId == $b and .traceId == $tb))
           | not) or (.attempt | type) != "number")' <<<"$STEP_LINES")
assert_empty "$BAD" "step lines whose trace id, root or attempt is wrong"
# Every job of tree A that was claimed has a line, and every line of its trace id is about
# one of its jobs: jq on the trace id follows the submission.
FOLLOWED=$(jq -r --arg t "$TRACE_A" 'select(.traceId == $t) | .jobId' <<<"$LOGS" | sort -u)
JOBS_A=$(sql "SELECT id FROM jobs WHERE root_id = '$ROOT_A' ORDER BY id")
assert_eq "$JOBS_A" "$FOLLOWED" "the jobs that jq on tree A's trace id finds"
# Both workers worked on tree A, and the faults made warnings or re-asks visible in its trace.
assert_eq 2 "$(jq -r --arg t "$TRACE_A" 'select(.traceId == $t) | .worker' <<<"$LOGS" | sort -u | grep -c .)" \
  "workers seen in tree A's trace"
RETRIES_A=$(jq -r --arg t "$TRACE_A" \
  'select(.traceId == $t and (.message | test("asked again|retries in")))' <<<"$LOGS" | grep -c .)
assert_ge 1 "$RETRIES_A" "re-asks and retries in tree A's trace"

# An error is a json line too; text stays the default; a bad format is a usage error (exit 2).
run "$HYDRATE_BIN" --log-format json status 0000000000000000000000000Z
assert_eq 4 "$RUN_RC" "exit status of status of an unknown job"
assert_eq error "$(jq -r .level <<<"$RUN_ERR")" "level of the error line"
assert_contains "$(jq -r .message <<<"$RUN_ERR")" "0000000000000000000000000Z" "the error's message"
run "$HYDRATE_BIN" status 0000000000000000000000000Z
assert_contains "$RUN_ERR" "hydrate: error: " "the text error"
run "$HYDRATE_BIN" --log-format yaml status
assert_eq 2 "$RUN_RC" "exit status of --log-format yaml"
assert_contains "$RUN_ERR" "--log-format" "the error of --log-format yaml"
HYDRATE_LOG_FORMAT=yaml run "$HYDRATE_BIN" status
assert_eq 2 "$RUN_RC" "exit status of HYDRATE_LOG_FORMAT=yaml"
assert_contains "$RUN_ERR" "HYDRATE_LOG_FORMAT must be text or json (got 'yaml')" "the error of HYDRATE_LOG_FORMAT=yaml"
