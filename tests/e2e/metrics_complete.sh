#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Every metric family, pinned: the real binary works small trees through every path a metric
# counts (a quota stop, success, wrong answers until a step fails, transient faults until the
# transient budget is spent, a budget stop, a reconcile run), then `hydrate metrics` is read. The
# set of (family, type, label names) it exposes must equal tests/e2e/expected_metrics.txt (the
# list man/hydrate-metrics.1 documents), every family must have a sample, the gauges must agree
# with the tables, and `promtool check metrics` must accept the exposition. Without promtool
# the test is skipped (exit 77), never passed.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init metrics_complete
command -v promtool >/dev/null 2>&1 || skip "promtool is not installed (scripts/setup installs the prometheus package)"
EXPECTED=$HYDRATE_SOURCE_DIR/tests/e2e/expected_metrics.txt
[[ -r $EXPECTED ]] || fail "cannot read $EXPECTED"

printf 'work.max_attempts = 2\n' >"$E2E_DIR/hydrate.conf"
TREE=(--language en --board CBSE --grade 1 --subject MATH --chapters 2 --topics-per-chapter 1)
# submit_tree QUESTIONS [flags…]: a small tree; QUESTIONS per topic tells the trees apart.
submit_tree() {
  local questions=$1
  shift
  hy --config "$E2E_DIR/hydrate.conf" --json submit "${TREE[@]}" --questions-per-topic "$questions" "$@"
  ROOT=$(jq -er .rootJobId <<<"$RUN_OUT") || fail "submit printed no rootJobId: $RUN_OUT"
}

note "1. the account runs out of quota after 2 answers: the worker stops (exit 1)"
start_mock --quota-after 2
submit_tree 2
SUCCEEDED_ROOT=$ROOT
run --timeout 120 "$HYDRATE_BIN" work --until-idle --concurrency 1
assert_eq 1 "$RUN_RC" "exit status of the worker stopped by the quota"
stop_mock

note "2. quota again: the tree succeeds"
start_mock
work_until_idle --concurrency 2
assert_tree_succeeded "$SUCCEEDED_ROOT"
stop_mock

note "3. every answer breaks its schema: the subject is retried once, then fails"
start_mock --rate-invalid 1
submit_tree 3
work_until_idle --concurrency 1
assert_eq failed "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT'")" "root whose answers are all invalid"
stop_mock

note "4. every request gets a 500: one transient retry, then the step fails"
start_mock --rate-500 1
submit_tree 4
HYDRATE_RETRY_MAX_TRANSIENT=1 work_until_idle --concurrency 1
assert_eq failed "$(sql "SELECT status FROM roots WHERE job_id = '$ROOT'")" "root whose calls all fail"
stop_mock

note "5. a budget below the first call's worst case: the tree is stopped by its budget"
start_mock
submit_tree 5 --max-cost 0.0000001 --force
work_until_idle --concurrency 1
assert_eq budget_exhausted "$(sql "SELECT reason FROM roots WHERE job_id = '$ROOT'")" "reason of the root"
stop_mock

note "6. a reconcile run, and one tree left waiting"
submit_tree 6
hy reconcile

hy metrics
printf '%s\n' "$RUN_OUT" >"$E2E_DIR/metrics.prom"
run promtool check metrics <"$E2E_DIR/metrics.prom"
((RUN_RC == 0)) || fail "promtool check metrics rejected the exposition: $RUN_OUT $RUN_ERR"

# (family, type, label names without le) of every sample; a family's histogram rows count as it.
awk '
  /^# TYPE / { type[$3] = $4; next }
  /^#/ || NF == 0 { next }
  {
    series = $1; name = series; sub(/\{.*/, "", name); family = name
    if (match(name, /_(bucket|sum|count)$/) && type[substr(name, 1, RSTART - 1)] == "histogram")
      family = substr(name, 1, RSTART - 1)
    names = ""
    if (match(series, /\{.*\}/)) {
      n = split(substr(series, RSTART + 1, RLENGTH - 2), parts, /",/)
      for (i = 1; i <= n; i++) {
        key = parts[i]; sub(/=.*/, "", key)
        if (key != "le") names = names (names == "" ? "" : ",") key
      }
    }
    print family, (family in type ? type[family] : "untyped"), (names == "" ? "-" : names)
  }' "$E2E_DIR/metrics.prom" | sort -u >"$E2E_DIR/actual_metrics.txt"
grep -v '^#' "$EXPECTED" | sort -u >"$E2E_DIR/expected_metrics.txt"
diff -u "$E2E_DIR/expected_metrics.txt" "$E2E_DIR/actual_metrics.txt" >"$E2E_DIR/metrics.diff" ||
  fail "the exposed (family, type, labels) differ from tests/e2e/expected_metrics.txt: $(cat "$E2E_DIR/metrics.diff")"
ANNOUNCED=$(grep -c '^# TYPE ' "$E2E_DIR/metrics.prom")
assert_eq "$(grep -c . "$E2E_DIR/expected_metrics.txt")" "$ANNOUNCED" "families announced (one label set each)"

# The gauges agree with the tables; the counters saw what the phases did.
value() { awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }' "$E2E_DIR/metrics.prom"; }
sum_of() { awk -v name="$1" 'index($1, name "{") == 1 { sum += $2 } END { print sum + 0 }' "$E2E_DIR/metrics.prom"; }
assert_eq 20 "$(grep -c '^hydrate_jobs{' "$E2E_DIR/metrics.prom")" "hydrate_jobs series"
assert_eq 5 "$(grep -c '^hydrate_roots{' "$E2E_DIR/metrics.prom")" "hydrate_roots series"
assert_eq "$(sql_count "SELECT count(*) FROM jobs")" "$(sum_of hydrate_jobs)" "sum of hydrate_jobs"
assert_eq "$(sql_count "SELECT count(*) FROM jobs WHERE kind = 'note' AND status = 'succeeded'")" \
  "$(value 'hydrate_jobs{kind="note",status="succeeded"}')" "succeeded notes"
assert_eq 5 "$(sum_of hydrate_roots)" "sum of hydrate_roots"
assert_eq 1 "$(value 'hydrate_roots{status="pending"}')" "pending roots"
assert_eq 3 "$(value 'hydrate_roots{status="failed"}')" "failed roots (invalid answers, 500s, budget)"
assert_eq 0 "$(value hydrate_jobs_in_flight)" "steps in flight with no worker"
assert_eq 0 "$(value hydrate_stuck_jobs)" "stuck steps (the waiting tree is seconds old)"
assert_ge 1 "$(value hydrate_quota_stops_total)" "quota stops"
assert_eq 1 "$(value hydrate_budget_stops_total)" "budget stops"
assert_ge 1 "$(value hydrate_transient_retries_total)" "transient retries"
assert_eq 1 "$(value hydrate_reconcile_duration_seconds_count)" "reconcile runs observed"
assert_eq "$(sql_count "SELECT coalesce(sum(prompt_tokens), 0) FROM llm_calls WHERE model = 'gpt-4o-mini'")" \
  "$(value 'hydrate_llm_prompt_tokens_total{model="gpt-4o-mini"}')" "prompt tokens of gpt-4o-mini"
assert_eq "$(sql_count "SELECT count(*) FROM llm_calls")" "$(sum_of hydrate_llm_calls_total)" \
  "sum of hydrate_llm_calls_total"
note "$ANNOUNCED families, each with its type and labels as expected_metrics.txt pins them"
