# shellcheck shell=bash disable=SC2034  # RUN_*, REAP_RC, STATUS, ROOT… are read by the tests
# Shared helpers of the end-to-end tests (tests/e2e/*.sh). Sourced, never run: the *.sh glob that
# registers the tests does not match this file.
#
# Each test calls `e2e_init NAME` first. It gets:
#   - its own directory E2E_DIR (mktemp -d), removed on success, kept and printed on failure;
#   - its own SQLite database (HYDRATE_DB, E2E_DB) and short retry backoff (HYDRATE_RETRY_BASE_MS);
#   - every process it starts with `spawn` tracked by PID and stopped in the EXIT trap;
#   - `fail`/`assert_*` helpers that say what broke, and an ERR trap naming the failing line.
# Nothing here sleeps and hopes: waits poll for their condition with a deadline (`wait_until`).

set -Eeuo pipefail

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_BACKEND=${E2E_BACKEND:-sqlite}  # postgres_NAME.sh (or the caller) may choose postgres
E2E_PIDS=()
E2E_DIR=""
E2E_NAME=""
E2E_SEQ=0
E2E_STARTED_AT=$SECONDS

# --- reporting ------------------------------------------------------------------------------

note() { printf '[%s +%ss] %s\n' "$E2E_NAME" "$((SECONDS - E2E_STARTED_AT))" "$*"; }

fail() {
  printf '[%s] FAIL: %s\n' "$E2E_NAME" "$*" >&2
  exit 1
}

skip() {
  printf '[%s] SKIP: %s\n' "$E2E_NAME" "$*" >&2
  exit 77
}

_e2e_on_error() {
  local rc=$? line=$1 command=$2
  # shellcheck disable=SC2016  # the backquotes are literal
  printf '[%s] FAIL: line %s: `%s` exited with %s\n' "$E2E_NAME" "$line" "$command" "$rc" >&2
  exit 1
}

# --- processes ------------------------------------------------------------------------------

# True while PID runs (a zombie counts as ended).
process_alive() {
  local pid=$1 stat
  # read, not $(cat …): no process per check (a fork costs tens of ms on a loaded machine).
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# spawn VAR LOG cmd…: starts cmd in the background with stdout/stderr in $E2E_DIR/LOG.out/.err,
# stores its PID in VAR and tracks it for the EXIT trap. cmd is exec'd, so the PID is its own;
# spawn returns once it is (or the process ended): a signal sent to the forked shell before its
# exec would be taken by the shell's traps and lost, not delivered to cmd.
spawn() {
  local var=$1 log=$2
  shift 2
  "$@" >"$E2E_DIR/$log.out" 2>"$E2E_DIR/$log.err" &
  # Locals with unlikely names: VAR is set in the caller's scope (often "pid").
  local _spawned=$! _arg0 _try
  E2E_PIDS+=("$_spawned")
  printf -v "$var" '%s' "$_spawned"
  # Exec'd once the process's argv[0] is cmd's (the forked shell's is bash's); read, not a
  # subprocess, so that the check costs no fork.
  for ((_try = 0; _try < 1000; _try++)); do
    _arg0=""
    { IFS= read -r -d '' _arg0 <"/proc/$_spawned/cmdline"; } 2>/dev/null || true
    [[ $_arg0 == "$1" ]] && return 0
    process_alive "$_spawned" || return 0
    sleep 0.01
  done
  fail "$1 (pid $_spawned) did not start within 10 s"
}

# handles_signal PID SIGNAL_NUMBER: PID has installed a handler for the signal (SigCgt in
# /proc/PID/status), so the signal asks it to stop rather than killing it.
handles_signal() {
  local mask
  mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $mask ]] && (((0x$mask >> ($2 - 1)) & 1))
}

# stop_gracefully PID: once PID handles SIGTERM, sends it and reaps the process (REAP_RC).
stop_gracefully() {
  local pid=$1
  wait_until 30 "process $pid to handle SIGTERM" handles_signal "$pid" 15
  kill -TERM "$pid"
  reap "$pid" "${2:-60}"
}

_untrack() {
  local pid=$1 kept=() p
  for p in "${E2E_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  E2E_PIDS=("${kept[@]+"${kept[@]}"}")
}

# reap PID [SECONDS]: waits (bounded) for a tracked process to end on its own and sets REAP_RC
# to its exit status. Fails the test when it does not end in time.
reap() {
  local pid=$1 limit=${2:-60}
  wait_until "$limit" "process $pid to exit" _not_alive "$pid"
  REAP_RC=0
  { wait "$pid"; } 2>/dev/null || REAP_RC=$?  # no "Killed" line from the shell
  _untrack "$pid"
}

_not_alive() { ! process_alive "$1"; }

# kill_now PID: SIGKILL, then waits for it (SIGKILL cannot be caught, so the wait is short) and
# sets REAP_RC; waiting at once, rather than polling, also keeps the shell's "Killed" notice out
# of the log.
kill_now() {
  local pid=$1
  kill -KILL "$pid"
  REAP_RC=0
  { wait "$pid"; } 2>/dev/null || REAP_RC=$?
  _untrack "$pid"
}

# stop_process PID: SIGTERM, a bounded wait, then SIGKILL; reaps it and untracks it.
stop_process() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    process_alive "$pid" || break
    sleep 0.1
  done
  if process_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  _untrack "$pid"
}

# at_exit CMD: runs CMD (a string for eval) when the test ends, before its processes are stopped.
E2E_AT_EXIT=()
at_exit() { E2E_AT_EXIT+=("$1"); }

_e2e_cleanup() {
  local rc=$?
  set +e
  trap - ERR
  local hook
  for hook in "${E2E_AT_EXIT[@]+"${E2E_AT_EXIT[@]}"}"; do eval "$hook"; done
  local pid
  # SIGCONT too: a test may have frozen a process with SIGSTOP.
  for pid in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null; kill -CONT "$pid" 2>/dev/null; done
  for pid in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do
    local i
    for ((i = 0; i < 50; i++)); do
      process_alive "$pid" || break
      sleep 0.1
    done
    process_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ -n $E2E_DIR && -d $E2E_DIR ]]; then
    if ((rc == 0 || rc == 77)); then
      rm -rf "$E2E_DIR"
    else
      printf '[%s] test directory kept: %s\n' "$E2E_NAME" "$E2E_DIR" >&2
      local log
      # The three most recent non-empty stderr logs (each command's output stays in the directory).
      while read -r log; do
        printf -- '--- last lines of %s\n' "$log" >&2
        tail -n 5 "$log" | cut -c1-300 >&2
      done < <(find "$E2E_DIR" -maxdepth 1 -name '*.err' -size +0 -printf '%T@ %p\n' | sort -rn | head -n 3 | cut -d' ' -f2-)
    fi
  fi
  if ((rc == 0)); then note "PASS in $((SECONDS - E2E_STARTED_AT)) s"; fi
  exit "$rc"
}

# --- set-up ---------------------------------------------------------------------------------

need_tool() {
  command -v "$1" >/dev/null 2>&1 || fail "the tool '$1' is required (apt-get install ${2:-$1})"
}

e2e_init() {
  E2E_NAME=$1
  trap _e2e_cleanup EXIT
  trap '_e2e_on_error "$LINENO" "$BASH_COMMAND"' ERR
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [[ -n ${HYDRATE_BIN:-} && -x ${HYDRATE_BIN:-} ]] ||
    fail "HYDRATE_BIN must name the built hydrate binary (got '${HYDRATE_BIN:-}'); run through ctest"
  [[ -n ${MOCK_LLM_BIN:-} && -x ${MOCK_LLM_BIN:-} ]] ||
    fail "MOCK_LLM_BIN must name the built hydrate-mock-llm binary (got '${MOCK_LLM_BIN:-}')"
  need_tool jq
  need_tool sqlite3
  need_tool curl
  need_tool timeout coreutils
  E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hydrate-e2e-$E2E_NAME.XXXXXX")
  # Only this test's settings reach hydrate: no config file, key, catalog or prompts from outside.
  unset HYDRATE_CONFIG HYDRATE_LLM_API_KEY HYDRATE_LLM_API_KEY_FILE OPENAI_API_KEY \
    HYDRATE_LLM_MODEL HYDRATE_PROMPTS_DIR HYDRATE_CATALOG HYDRATE_CONCURRENCY HYDRATE_LLM_TIMEOUT_MS \
    HYDRATE_ADMIN_TOKEN HYDRATE_ADMIN_TOKEN_FILE
  E2E_DB=$E2E_DIR/hydrate.db
  export HYDRATE_DB="sqlite:$E2E_DB"
  export HYDRATE_RETRY_BASE_MS=20
  # Nothing listens here until start_mock points hydrate at the local endpoint.
  export HYDRATE_LLM_URL="http://127.0.0.1:9/v1"
  cd "$E2E_DIR"
  note "directory $E2E_DIR"
}

# e2e_backend_init NAME [sqlite|postgres]: e2e_init, then on postgres a database of its own
# (lib/postgres.bash; skipped without HYDRATE_TEST_PG). A scenario is written once in NAME.sh,
# which passes "${E2E_BACKEND:-sqlite}"; postgres_NAME.sh sets E2E_BACKEND=postgres and sources it.
e2e_backend_init() {
  local name=$1 backend=${2:-sqlite}
  case $backend in
    sqlite) e2e_init "$name" ;;
    postgres)
      e2e_init "postgres_$name"
      # shellcheck disable=SC1091  # lib/postgres.bash, next to this file
      source "$E2E_LIB/postgres.bash"
      pg_init
      ;;
    *) fail "unknown backend '$backend' (sqlite or postgres)" ;;
  esac
  E2E_BACKEND=$backend
}

# --- waiting --------------------------------------------------------------------------------

# wait_until SECONDS DESCRIPTION cmd…: polls cmd until it succeeds; fails the test at the deadline.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit)) delay=0.05
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    ((SECONDS < deadline)) || fail "timed out after ${limit} s waiting for $what"
    sleep "$delay"
    [[ $delay == 0.05 ]] && delay=0.1 || delay=0.2
  done
}

# --- running hydrate ------------------------------------------------------------------------

# run [--timeout S] cmd…: runs cmd in the foreground, bounded; sets RUN_RC, RUN_OUT, RUN_ERR
# (stdout and stderr, also kept in $E2E_DIR/run.N.out/.err). Never fails by itself.
run() {
  local limit=120
  if [[ $1 == --timeout ]]; then
    limit=$2
    shift 2
  fi
  E2E_SEQ=$((E2E_SEQ + 1))
  local out="$E2E_DIR/run.$E2E_SEQ.out" err="$E2E_DIR/run.$E2E_SEQ.err"
  printf '%q ' "$@" >"$E2E_DIR/run.$E2E_SEQ.cmd"
  RUN_RC=0
  timeout --kill-after=5 "$limit" "$@" >"$out" 2>"$err" || RUN_RC=$?
  RUN_OUT=$(cat "$out")
  RUN_ERR=$(cat "$err")
  if ((RUN_RC == 124 || RUN_RC == 137)); then
    fail "did not finish within ${limit} s: $* (stderr: $(tail -n 3 "$err"))"
  fi
}

# hy args…: runs hydrate (bounded) and requires exit 0; stdout in RUN_OUT.
hy() {
  run "$HYDRATE_BIN" "$@"
  ((RUN_RC == 0)) || fail "hydrate $* exited with $RUN_RC: $RUN_ERR"
}

# submit_small [extra flags…]: submits en/CBSE/1/MATH as a small tree and sets ROOT.
SMALL_TREE=(--chapters 3 --topics-per-chapter 2 --questions-per-topic 3)
submit_small() {
  hy --json submit --language en --board CBSE --grade 1 --subject MATH "${SMALL_TREE[@]}" "$@"
  ROOT=$(jq -er .rootJobId <<<"$RUN_OUT") || fail "submit printed no rootJobId: $RUN_OUT"
  [[ $(jq -r .deduplicated <<<"$RUN_OUT") == false ]] || fail "a fresh submit was deduplicated: $RUN_OUT"
}

# work_until_idle [flags…]: one worker to the end of the queue, bounded; requires exit 0.
# Four calls in flight unless the flags say otherwise.
work_until_idle() {
  local defaults=(--concurrency 4)
  if [[ " $* " == *" --concurrency "* ]]; then defaults=(); fi
  run --timeout "${WORK_TIMEOUT:-120}" "$HYDRATE_BIN" work --until-idle "${defaults[@]}" "$@"
  ((RUN_RC == 0)) || fail "work --until-idle exited with $RUN_RC: $RUN_ERR"
}

# status_json JOB: sets STATUS (the JSON of `status --json JOB`).
status_json() {
  hy --json status "$1"
  STATUS=$RUN_OUT
  jq -e . >/dev/null <<<"$STATUS" || fail "status --json $1 is not JSON: $STATUS"
}

jqs() { jq -r "$1" <<<"$STATUS"; }

# --- the local endpoint ---------------------------------------------------------------------

# start_mock [flags…]: starts hydrate-mock-llm on a free port; sets MOCK_PID, MOCK_URL and points
# HYDRATE_LLM_URL at it.
# wait_listening PID LOG WHAT: waits (30 s at most) for the first line of $E2E_DIR/LOG.out to
# say "listening on http://…", as the endpoint and serve print; sets LISTEN_URL to the address.
wait_listening() {
  local pid=$1 log=$2 what=$3 deadline=$((SECONDS + 30))
  until grep -q '^listening on http://' "$E2E_DIR/$log.out" 2>/dev/null; do
    process_alive "$pid" || fail "$what exited at start-up: $(cat "$E2E_DIR/$log.err")"
    ((SECONDS < deadline)) || fail "$what did not say where it listens within 30 s"
    sleep 0.05
  done
  LISTEN_URL=$(sed -n '1s/^listening on //p' "$E2E_DIR/$log.out")
}

start_mock() {
  E2E_SEQ=$((E2E_SEQ + 1))
  local log="mock.$E2E_SEQ"
  spawn MOCK_PID "$log" "$MOCK_LLM_BIN" --port 0 "$@"
  wait_listening "$MOCK_PID" "$log" "the endpoint"
  MOCK_URL=$LISTEN_URL
  [[ $MOCK_URL =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "unexpected endpoint address '$MOCK_URL'"
  export HYDRATE_LLM_URL="$MOCK_URL/v1"
}

stop_mock() { stop_process "$MOCK_PID"; }

# mock_stats: the endpoint's GET /stats JSON.
mock_stats() { curl -fsS --max-time 10 "$MOCK_URL/stats"; }

# assert_mock_billed_as_logged: every token the endpoint billed since it started is in
# llm_calls, and nothing else is (exact accounting; one endpoint per database).
assert_mock_billed_as_logged() {
  local stats billed logged
  stats=$(mock_stats) || fail "the endpoint's /stats did not answer"
  billed=$(jq -r '"\(.billed.promptTokens) \(.billed.completionTokens)"' <<<"$stats")
  logged=$(sql "SELECT coalesce(sum(prompt_tokens), 0) || ' ' || coalesce(sum(completion_tokens), 0)
                FROM llm_calls")
  assert_eq "$billed" "$logged" "prompt and completion tokens: billed by the endpoint vs logged"
}

# assert_batch_billed_as_logged [WHERE]: every token the endpoint billed in batch lines since it
# started is in llm_calls (those matching WHERE, all by default), and nothing else is; and the
# endpoint answered no online call. For a database worked in batch mode only.
assert_batch_billed_as_logged() {
  local stats where=${1:-1 = 1}
  stats=$(mock_stats) || fail "the endpoint's /stats did not answer"
  assert_eq "$(jq -r '"\(.batches.billed.promptTokens) \(.batches.billed.completionTokens)"' <<<"$stats")" \
    "$(sql "SELECT coalesce(sum(prompt_tokens), 0) || ' ' || coalesce(sum(completion_tokens), 0)
            FROM llm_calls WHERE $where")" \
    "batch tokens: billed by the endpoint vs logged"
  assert_eq 0 "$(jq -r .requests.total <<<"$stats")" "online calls to the endpoint"
}

# --- the database ---------------------------------------------------------------------------

# sql QUERY: one query against this test's database (waits while a writer holds it).
sql() { sqlite3 -batch -bail -cmd ".timeout 10000" "$E2E_DB" "$1"; }

# sql_count QUERY: QUERY must return one number.
sql_count() {
  local value
  value=$(sql "$1") || fail "query failed: $1"
  [[ $value =~ ^[0-9]+$ ]] || fail "query returned '$value', not a count: $1"
  printf '%s' "$value"
}

# --- assertions -----------------------------------------------------------------------------

assert_eq() {
  local expected=$1 actual=$2 what=$3
  [[ $expected == "$actual" ]] || fail "$what: expected '$expected', got '$actual'"
}

assert_ge() {
  local least=$1 actual=$2 what=$3
  [[ $actual =~ ^-?[0-9]+$ ]] || fail "$what: '$actual' is not a number"
  ((actual >= least)) || fail "$what: expected at least $least, got $actual"
}

assert_le() {
  local most=$1 actual=$2 what=$3
  [[ $actual =~ ^-?[0-9]+$ ]] || fail "$what: '$actual' is not a number"
  ((actual <= most)) || fail "$what: expected at most $most, got $actual"
}

# assert_spent_within_budget SPENT BUDGET: the tree spent something, and no more than its budget
# (decimal dollars).
assert_spent_within_budget() {
  awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' ||
    fail "the tree spent \$$1, more than its budget \$$2"
  awk -v a="$1" 'BEGIN { exit !(a + 0 >= 0.000001) }' ||
    fail "the tree spent nothing (\$$1): the budget test proved nothing"
}

# chaos_kill DELAY_MS PID VICTIM: after DELAY_MS (the chaos schedule itself), SIGKILLs worker
# VICTIM (pid PID, its logs $E2E_DIR/workerVICTIM.*), which must not have died on its own.
chaos_kill() {
  sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"
  process_alive "$2" || fail "worker $2 died on its own: $(tail -n 3 "$E2E_DIR"/worker"$3".*.err)"
  kill_now "$2"
  assert_eq 137 "$REAP_RC" "exit status of killed worker $2"
}

# assert_contains HAYSTACK NEEDLE WHAT: NEEDLE (one line) occurs in HAYSTACK. grep, not a bash
# pattern, which is quadratic on large texts.
assert_contains() {
  local haystack=$1 needle=$2 what=$3
  grep -Fq -e "$needle" <<<"$haystack" || fail "$what: expected to find '$needle' in: ${haystack:0:600}"
}

assert_empty() {
  local value=$1 what=$2
  [[ -z $value ]] || fail "$what: expected nothing, got: ${value:0:1000}"
}

# assert_tree_succeeded ROOT: the root succeeded, every level is complete, no step is left
# pending, running, failed or cancelled. Leaves the status JSON in STATUS.
assert_tree_succeeded() {
  local root=$1 summary
  status_json "$root"
  # One jq run: status, each level as completed/expected, unfinished steps, overall percent.
  summary=$(jqs '[.status,
                  (.progress.levels | .chapters, .topics, .notes, .questions
                   | "\(.completed)/\(.expected)"),
                  (.progress.steps | .pending + .running + .failed + .cancelled),
                  .progress.overall] | join(" ")')
  local status chapters topics notes questions unfinished overall level
  read -r status chapters topics notes questions unfinished overall <<<"$summary"
  assert_eq succeeded "$status" "status of root $root"
  for level in "chapters $chapters" "topics $topics" "notes $notes" "questions $questions"; do
    local name=${level%% *} counts=${level#* }
    assert_eq "${counts#*/}" "${counts%/*}" "completed vs expected $name of root $root"
  done
  assert_eq 0 "$unfinished" "steps of root $root pending, running, failed or cancelled"
  assert_eq 100 "$overall" "overall progress of root $root"
  assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE root_id = '$root' AND status != 'succeeded'")" \
    "jobs of root $root that did not succeed"
}

# assert_no_duplicate_content: no job twice at one place, no content row twice, no content
# written by a job that did not succeed, one content set per succeeded step.
assert_no_duplicate_content() {
  local rows
  rows=$(sql "SELECT parent_id, kind, position, count(*) FROM jobs WHERE parent_id IS NOT NULL
              GROUP BY parent_id, kind, position HAVING count(*) > 1")
  assert_empty "$rows" "jobs created twice for one (parent, kind, position)"
  rows=$(sql "SELECT 'chapters', job_id, position, count(*) FROM chapters GROUP BY job_id, position HAVING count(*) > 1
              UNION ALL SELECT 'chapters/root', root_id, position, count(*) FROM chapters GROUP BY root_id, position HAVING count(*) > 1
              UNION ALL SELECT 'topics', job_id, position, count(*) FROM topics GROUP BY job_id, position HAVING count(*) > 1
              UNION ALL SELECT 'notes', job_id, 0, count(*) FROM notes GROUP BY job_id HAVING count(*) > 1
              UNION ALL SELECT 'questions', job_id, position, count(*) FROM questions GROUP BY job_id, position HAVING count(*) > 1")
  assert_empty "$rows" "duplicate content rows (table, job, position, count)"
  rows=$(sql "SELECT 'chapters', c.job_id, j.status FROM chapters c LEFT JOIN jobs j ON j.id = c.job_id WHERE (j.status IS NULL OR j.status != 'succeeded')
              UNION ALL SELECT 'topics', t.job_id, j.status FROM topics t LEFT JOIN jobs j ON j.id = t.job_id WHERE (j.status IS NULL OR j.status != 'succeeded')
              UNION ALL SELECT 'notes', n.job_id, j.status FROM notes n LEFT JOIN jobs j ON j.id = n.job_id WHERE (j.status IS NULL OR j.status != 'succeeded')
              UNION ALL SELECT 'questions', q.job_id, j.status FROM questions q LEFT JOIN jobs j ON j.id = q.job_id WHERE (j.status IS NULL OR j.status != 'succeeded')")
  assert_empty "$rows" "content written by a job that did not succeed (table, job, status)"
  rows=$(sql "SELECT j.kind, j.id FROM jobs j WHERE j.status = 'succeeded' AND (
                (j.kind = 'subject' AND NOT EXISTS (SELECT 1 FROM chapters c WHERE c.job_id = j.id)) OR
                (j.kind = 'chapter' AND NOT EXISTS (SELECT 1 FROM topics t WHERE t.job_id = j.id)) OR
                (j.kind = 'note' AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.job_id = j.id)) OR
                (j.kind = 'questions' AND NOT EXISTS (SELECT 1 FROM questions q WHERE q.job_id = j.id)))")
  assert_empty "$rows" "succeeded steps without their content (kind, job)"
  rows=$(sql "SELECT job_id, count(*) FROM llm_calls WHERE used = 1 GROUP BY job_id HAVING count(*) > 1")
  assert_empty "$rows" "steps whose model output was used more than once (job, count)"
}

# assert_export_matches_tables ROOT: the JSON export holds exactly the content rows of the tree,
# table by table (also for a tree that did not finish). Sets EXPORT and EXPORT_COUNTS (chapters,
# topics, notes, questions in the export, space-separated).
assert_export_matches_tables() {
  local root=$1
  hy export "$root" --format json
  EXPORT=$RUN_OUT
  assert_eq "$root" "$(jq -r .jobId <<<"$EXPORT")" "jobId of the export"
  EXPORT_COUNTS=$(jq -r '[(.chapters | length), ([.chapters[].topics[]] | length),
                          ([.chapters[].topics[].note | select(. != null)] | length),
                          ([.chapters[].topics[].questions[]] | length)] | join(" ")' <<<"$EXPORT") ||
    fail "export of $root is not the documented JSON: ${EXPORT:0:300}"
  local rows
  rows=$(sql "SELECT (SELECT count(*) FROM chapters WHERE root_id = '$root') || ' ' ||
                     (SELECT count(*) FROM topics WHERE root_id = '$root') || ' ' ||
                     (SELECT count(*) FROM notes WHERE root_id = '$root') || ' ' ||
                     (SELECT count(*) FROM questions WHERE root_id = '$root')")
  assert_eq "$rows" "$EXPORT_COUNTS" "chapters, topics, notes, questions: content rows vs the export"
}

# assert_export_matches ROOT: for a finished tree, the JSON export holds exactly what status
# counts, level by level, and what the content tables hold. Sets STATUS, EXPORT and EXPORT_COUNTS.
assert_export_matches() {
  local root=$1
  assert_export_matches_tables "$root"
  status_json "$root"
  assert_eq "$(jqs '[.progress.levels | .chapters, .topics, .notes, .questions | .completed] | join(" ")')" "$EXPORT_COUNTS" \
    "chapters, topics, notes, questions: completed in status vs the export"
}

# assert_within_worst_case ROOT: the root's actual cost is above zero and never above the worst
# case its estimate promised at submit (costs.actualUsd <= estimates.worstCaseCostUsd).
assert_within_worst_case() {
  status_json "$1"
  local verdict
  verdict=$(jqs 'if (.costs.actualUsd > 0) and (.costs.actualUsd <= .estimates.worstCaseCostUsd)
                 then "ok" else "actual \(.costs.actualUsd) vs worst case \(.estimates.worstCaseCostUsd)" end')
  assert_eq ok "$verdict" "actual cost of root $1 within its worst case"
}

# --- reliability: accounting, shape, snapshots ------------------------------------------------

# price_of MODEL: "INPUT CACHED_INPUT OUTPUT" in USD per million tokens, from data/prices.tsv
# (the table embedded in hydrate).
price_of() {
  local table=${HYDRATE_SOURCE_DIR:-$E2E_LIB/../../..}/data/prices.tsv
  awk -F'\t' -v model="$1" '$1 == model { print $2, $3, $4; found = 1 } END { exit !found }' "$table" ||
    fail "model '$1' has no price in $table"
}

# logged_usage [WHERE]: "CALLS_WITH_USAGE PROMPT COMPLETION CACHED ROWS" summed over llm_calls.
logged_usage() {
  sql "SELECT count(CASE WHEN prompt_tokens + completion_tokens > 0 THEN 1 END) || ' ' ||
              coalesce(sum(prompt_tokens), 0) || ' ' || coalesce(sum(completion_tokens), 0) || ' ' ||
              coalesce(sum(cached_tokens), 0) || ' ' || count(*)
       FROM llm_calls ${1:-}"
}

# billed_usage: "CALLS PROMPT COMPLETION CACHED REQUESTS" as the endpoint's GET /stats counts them.
billed_usage() {
  mock_stats | jq -r '"\(.billed.calls) \(.billed.promptTokens) \(.billed.completionTokens) \(.billed.cachedTokens) \(.requests.total)"'
}

# assert_billing_exact [WHERE]: what the endpoint billed is exactly what hydrate logged in
# llm_calls, to the token (calls with usage, prompt, completion, cached tokens), and every request
# it received is one logged call (also one whose connection it dropped unanswered: the transport
# never sends a request again by itself) — the guarantee of a run with faults but no killed
# worker. WHERE (optional) picks the calls made while this endpoint ran, for a test that
# restarted it.
assert_billing_exact() {
  local billed logged
  billed=$(billed_usage) || fail "cannot read the endpoint's /stats"
  logged=$(logged_usage "${1:-}")
  note "billed (calls prompt completion cached requests): $billed; logged: $logged"
  assert_eq "$billed" "$logged" \
    "billed calls, prompt, completion and cached tokens, requests: endpoint vs llm_calls"
}

# assert_billing_bounded LOST_CALLS_MAX: after workers were killed, llm_calls may miss the calls
# that were in flight (billed, never logged) — at most LOST_CALLS_MAX of them (kills × calls in
# flight per worker) — and never holds more than was billed. Each missing call cost at most the
# largest logged call (the endpoint answers a repeated request identically, and a killed step's
# request is repeated by whoever runs it next).
assert_billing_bounded() {
  local bound=$1 b_calls b_prompt b_completion b_cached b_requests l_calls l_prompt l_completion l_cached l_rows
  read -r b_calls b_prompt b_completion b_cached b_requests <<<"$(billed_usage)"
  read -r l_calls l_prompt l_completion l_cached l_rows <<<"$(logged_usage)"
  local largest lost_calls lost_requests lost_tokens
  largest=$(sql_count "SELECT coalesce(max(prompt_tokens + completion_tokens), 0) FROM llm_calls")
  lost_calls=$((b_calls - l_calls))
  lost_requests=$((b_requests - l_rows))
  lost_tokens=$((b_prompt + b_completion - l_prompt - l_completion))
  note "billed $b_calls calls / $((b_prompt + b_completion)) tokens, logged $l_calls / $((l_prompt + l_completion)); lost $lost_calls call(s), $lost_tokens token(s), bound $bound call(s)"
  assert_ge 0 "$lost_calls" "billed calls missing from llm_calls (logged more than billed?)"
  assert_ge 0 "$lost_requests" "requests missing from llm_calls (logged more than received?)"
  assert_ge 0 "$((b_prompt - l_prompt))" "prompt tokens billed minus logged"
  assert_ge 0 "$((b_completion - l_completion))" "completion tokens billed minus logged"
  assert_ge 0 "$((b_cached - l_cached))" "cached tokens billed minus logged"
  assert_le "$bound" "$lost_requests" "requests never logged (at most the calls in flight at the kills)"
  assert_le "$((lost_calls * largest))" "$lost_tokens" "tokens billed but not logged (at most lost calls × the largest call)"
  if ((lost_calls == 0)); then assert_eq 0 "$lost_tokens" "tokens lost without a lost call"; fi
}

# assert_cost_priced ROOT [MODEL]: `status --json ROOT` reports the tokens of the tree's logged
# calls, and as actual cost exactly those tokens priced by data/prices.tsv — (prompt − cached) at
# the input price, cached at the cached-input price, completion at the output price — to the
# micro-dollar status shows; the sum of the calls' own costs agrees to 1e-12 relative.
assert_cost_priced() {
  local root=$1 model=${2:-gpt-4o-mini} input cached output calls prompt completion cached_tokens rows cost
  read -r input cached output <<<"$(price_of "$model")"
  read -r calls prompt completion cached_tokens rows <<<"$(logged_usage "WHERE root_id = '$root'")"
  cost=$(sql "SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE root_id = '$root'")
  assert_eq 0 "$(sql_count "SELECT count(*) FROM llm_calls WHERE root_id = '$root' AND model <> '$model'")" \
    "calls of root $root to another model than $model"
  status_json "$root"
  assert_eq "$prompt $completion $cached_tokens" "$(jqs '"\(.tokens.prompt) \(.tokens.completion) \(.tokens.cached)"')" \
    "prompt, completion, cached tokens of root $root: status vs llm_calls"
  local verdict
  verdict=$(awk -v p="$prompt" -v c="$completion" -v k="$cached_tokens" -v pi="$input" -v pk="$cached" \
    -v po="$output" -v shown="$(jqs .costs.actualUsd)" -v summed="$cost" 'BEGIN {
      priced = ((p - k) * pi + k * pk + c * po) / 1e6
      # shown is priced rounded to the micro-dollar; a price on a half micro-dollar may go
      # either way (the sum of the calls lands a hair above or below it).
      d1 = shown - priced; if (d1 < 0) d1 = -d1
      d2 = summed - priced; if (d2 < 0) d2 = -d2
      if (d1 <= 5e-7 + 1e-12 && d2 <= 1e-12 + 1e-12 * priced) print "ok"
      else printf "priced %.9f, status %.9f, sum of calls %.12f\n", priced, shown, summed }')
  assert_eq ok "$verdict" "actual cost of root $root vs its tokens priced for $model"
  assert_empty "$(sql "SELECT j.id, j.actual_cost_usd, sum(c.cost_usd) FROM jobs j JOIN llm_calls c ON c.job_id = j.id
                       WHERE j.root_id = '$root' GROUP BY j.id, j.actual_cost_usd
                       HAVING abs(j.actual_cost_usd - sum(c.cost_usd)) > 1e-12")" \
    "steps whose actual cost is not the sum of their calls (id, step cost, calls)"
}

# tree_shape ROOT [DB_URL]: from the JSON export, the tree's counts per level, then its chapter
# and topic titles by position — what two runs of one slot against one endpoint seed share
# however they were interrupted, whatever database each ran on.
tree_shape() {
  local root=$1 db=()
  [[ -n ${2:-} ]] && db=(--db "$2")
  hy "${db[@]}" export "$root" --format json
  jq -r '"counts \(.chapters | length) \([.chapters[].topics[]] | length) \([.chapters[].topics[].note | select(. != null)] | length) \([.chapters[].topics[].questions[]] | length)",
         (.chapters[] | "chapter \(.position) \(.title)"),
         (.chapters[] as $c | $c.topics[] | "topic \($c.position).\(.position) \(.title)")' <<<"$RUN_OUT" ||
    fail "export of $root is not the documented JSON: ${RUN_OUT:0:300}"
}

# lose_a_note_and_repair ROOT: deletes one pending note step of ROOT's tree, as a lost fan-out
# would leave it (the tree's counters then fall short of its content), and checks that
# `hydrate reconcile` finds the topic and creates the note step again.
lose_a_note_and_repair() {
  local lost
  lost=$(sql "SELECT parent_id || ' ' || position FROM jobs WHERE root_id = '$1'
              AND status = 'pending' AND kind = 'note' ORDER BY id LIMIT 1")
  [[ -n $lost ]] || fail "the tree $1 has no pending note to lose"
  sql "DELETE FROM jobs WHERE kind = 'note' AND parent_id || ' ' || position = '$lost'"
  hy --json reconcile
  assert_eq 1 "$(jq -er .repaired <<<"$RUN_OUT")" "steps reconcile repaired"
  assert_eq 1 "$(sql_count "SELECT count(*) FROM jobs WHERE kind = 'note'
                            AND parent_id || ' ' || position = '$lost'")" "the lost note, repaired"
}

# assert_no_orphans: no step left running or holding a lease once the work is over; no child job
# under a parent that did not succeed; no content or call of a job that does not exist.
assert_no_orphans() {
  assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE status = 'running'")" "steps left running"
  assert_eq 0 "$(sql_count "SELECT count(*) FROM jobs WHERE lease_token IS NOT NULL OR lease_holder IS NOT NULL")" \
    "steps still holding a lease"
  assert_empty "$(sql "SELECT k.id FROM jobs k JOIN jobs p ON p.id = k.parent_id WHERE p.status <> 'succeeded'")" \
    "child jobs under a parent that did not succeed"
  assert_empty "$(sql "SELECT 'chapters', job_id FROM chapters WHERE job_id NOT IN (SELECT id FROM jobs)
                       UNION ALL SELECT 'topics', job_id FROM topics WHERE job_id NOT IN (SELECT id FROM jobs)
                       UNION ALL SELECT 'notes', job_id FROM notes WHERE job_id NOT IN (SELECT id FROM jobs)
                       UNION ALL SELECT 'questions', job_id FROM questions WHERE job_id NOT IN (SELECT id FROM jobs)
                       UNION ALL SELECT 'llm_calls', job_id FROM llm_calls WHERE job_id NOT IN (SELECT id FROM jobs)")" \
    "content or calls of jobs that do not exist"
}

# content_snapshot ROOT: every content row of the tree, by table and key (writing job, position).
content_snapshot() {
  local root=$1
  sql "SELECT 'chapters', job_id, position FROM chapters WHERE root_id = '$root'
       UNION ALL SELECT 'topics', job_id, position FROM topics WHERE root_id = '$root'
       UNION ALL SELECT 'notes', job_id, 0 FROM notes WHERE root_id = '$root'
       UNION ALL SELECT 'questions', job_id, position FROM questions WHERE root_id = '$root'
       ORDER BY 1, 2, 3"
}

# steps_snapshot ROOT [STATUS]: id, status, attempts and timestamps of the tree's steps (those in
# STATUS only, when given) — what must not move for steps that are finished. (A step's cost may:
# a late call of a zombie is billed to its step.)
steps_snapshot() {
  local root=$1 filter=""
  [[ -n ${2:-} ]] && filter="AND status = '$2'"
  sql "SELECT id, status, attempts, started_at, finished_at, updated_at FROM jobs
       WHERE root_id = '$root' $filter ORDER BY id"
}

# assert_clean_stderr FILE…: no process's stderr mentions a locked or busy database.
assert_clean_stderr() {
  local file
  for file in "$@"; do
    if grep -Ein 'database is locked|database table is locked|SQLITE_BUSY|SQLITE_LOCKED|\bbusy\b' "$file" >"$E2E_DIR/busy.hits"; then
      fail "$(basename "$file") reports a busy database: $(head -n 3 "$E2E_DIR/busy.hits")"
    fi
  done
}
