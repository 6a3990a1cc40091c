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
  [[ -r /proc/$pid/stat ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# spawn VAR LOG cmd…: starts cmd in the background with stdout/stderr in $E2E_DIR/LOG.out/.err,
# stores its PID in VAR and tracks it for the EXIT trap. cmd is exec'd, so the PID is its own.
spawn() {
  local var=$1 log=$2
  shift 2
  "$@" >"$E2E_DIR/$log.out" 2>"$E2E_DIR/$log.err" &
  E2E_PIDS+=("$!")
  printf -v "$var" '%s' "$!"
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
  for pid in "${E2E_PIDS[@]+"${E2E_PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null; done
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
    HYDRATE_LLM_MODEL HYDRATE_PROMPTS_DIR HYDRATE_CATALOG HYDRATE_CONCURRENCY HYDRATE_LLM_TIMEOUT_MS
  E2E_DB=$E2E_DIR/hydrate.db
  export HYDRATE_DB="sqlite:$E2E_DB"
  export HYDRATE_RETRY_BASE_MS=20
  # Nothing listens here until start_mock points hydrate at the local endpoint.
  export HYDRATE_LLM_URL="http://127.0.0.1:9/v1"
  cd "$E2E_DIR"
  note "directory $E2E_DIR"
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
start_mock() {
  E2E_SEQ=$((E2E_SEQ + 1))
  local log="mock.$E2E_SEQ"
  spawn MOCK_PID "$log" "$MOCK_LLM_BIN" --port 0 "$@"
  local deadline=$((SECONDS + 30))
  until grep -q '^listening on http://' "$E2E_DIR/$log.out" 2>/dev/null; do
    process_alive "$MOCK_PID" || fail "the endpoint exited at start-up: $(cat "$E2E_DIR/$log.err")"
    ((SECONDS < deadline)) || fail "the endpoint did not say where it listens within 30 s"
    sleep 0.05
  done
  MOCK_URL=$(sed -n '1s/^listening on //p' "$E2E_DIR/$log.out")
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
