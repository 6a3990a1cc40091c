#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# hydrate report over a real run: two trees finish (one of them after its worker is killed with
# SIGKILL and reconcile rescues its leases), one is cancelled, the endpoint rejects some answers
# as invalid. Every figure of --json is checked against the tables and metrics it comes from;
# --check exits 1 naming what missed and 0 when the configured targets hold; an empty database
# or window is "no data" and passes; bad input is exit 2, a missing database exit 4.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init report

now_ms() { date +%s%3N; }
measure() { jq -c --arg key "$1" '.metrics[] | select(.key == $key)' <<<"$REPORT"; }
field() { jq -r "$2" <<<"$(measure "$1")"; }
# assert_close EXPECTED ACTUAL WHAT: equal to 1e-9 (both computed from the same rows).
assert_close() {
  awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-9) }' ||
    fail "$3: expected $1, got $2"
}
report_json() {
  hy --json report "$@"
  REPORT=$RUN_OUT
}

note "a missing database is exit 4; an empty one is no data everywhere and passes --check"
run "$HYDRATE_BIN" --db "$E2E_DIR/absent.db" report
assert_eq 4 "$RUN_RC" "exit status for a missing database"
hy migrate
report_json --check
assert_eq true "$(jq -r .targetsMet <<<"$REPORT")" "targetsMet of an empty database"
assert_eq 5 "$(jq '.metrics | length' <<<"$REPORT")" "figures in the report"
assert_eq "no data" "$(jq -r '[.metrics[].status] | unique | join(",")' <<<"$REPORT")" \
  "statuses of an empty database"
assert_eq null "$(jq -r .reconcile.lastRunAt <<<"$REPORT")" "last reconcile run of an empty database"
hy report
assert_contains "$RUN_OUT" "has never run" "text report of an empty database"

note "bad input: exit 2 with a one-line error naming what is wrong; nothing stored changes"
run "$HYDRATE_BIN" report --since soon
assert_eq 2 "$RUN_RC" "exit status for --since soon"
assert_contains "$RUN_ERR" "--since" "the error"
run "$HYDRATE_BIN" report --since 0s
assert_eq 2 "$RUN_RC" "exit status for --since 0s"
printf 'report.min_success_rate = 1.5\n' >"$E2E_DIR/bad.conf"
run "$HYDRATE_BIN" --config "$E2E_DIR/bad.conf" report
assert_eq 2 "$RUN_RC" "exit status for a rate above 1"
assert_contains "$RUN_ERR" "report.min_success_rate" "the error"
assert_contains "$RUN_ERR" "bad.conf:1" "the error names where the value came from"
assert_eq 1 "$(grep -c . <<<"$RUN_ERR")" "lines of the error"

note "a real run: a worker killed mid-run, reconcile, a second tree, a cancelled one"
start_mock --seed 11 --latency-ms 300 --rate-invalid 0.2
submit_small
FIRST=$ROOT
spawn WORKER worker "$HYDRATE_BIN" work --concurrency 4 --lease-seconds 2
count_jobs() { sql_count "SELECT count(*) FROM jobs WHERE root_id = '$FIRST' AND status = '$1'"; }
mid_run() { [[ $(count_jobs succeeded) -ge 2 && $(count_jobs running) -ge 1 ]]; }
wait_until 60 "some steps succeeded and others in flight" mid_run
kill -KILL "$WORKER"
reap "$WORKER" 30
LOST=$(sql_count "SELECT count(*) FROM jobs WHERE status = 'running'")
assert_ge 1 "$LOST" "steps the killed worker left running"
LATEST=$(sql_count "SELECT max(lease_expires_at) FROM jobs WHERE status = 'running'")
leases_expired() { (($(now_ms) > LATEST + 50)); }
wait_until 30 "the dead worker's leases to expire" leases_expired
hy --json reconcile
assert_eq "$LOST" "$(jq -r .rescued <<<"$RUN_OUT")" "leases rescued"
submit_grade() {
  hy --json submit --language en --board CBSE --grade "$1" --subject MATH "${SMALL_TREE[@]}"
  ROOT=$(jq -er .rootJobId <<<"$RUN_OUT")
}
submit_grade 2
SECOND=$ROOT
work_until_idle --concurrency 4
submit_grade 3
hy cancel "$ROOT"
hy --json reconcile --min-interval-seconds 600
assert_eq false "$(jq -r .skipped <<<"$RUN_OUT")" "the last reconcile skipped"
for root in "$FIRST" "$SECOND"; do
  assert_eq succeeded "$(sql "SELECT status FROM roots WHERE job_id = '$root'")" "status of $root"
done

note "every figure agrees with the rows it is computed from"
report_json
assert_eq 2 "$(jq -r .roots.succeeded <<<"$REPORT")" "succeeded roots"
assert_eq 0 "$(jq -r .roots.failed <<<"$REPORT")" "failed roots"
assert_eq 1 "$(jq -r .roots.cancelled <<<"$REPORT")" "cancelled roots"

assert_eq 2 "$(field rootCompletionMinutes .samples)" "completion samples"
assert_close "$(sql "SELECT avg((finished_at - created_at) / 60000.0) FROM roots WHERE status = 'succeeded'")" \
  "$(field rootCompletionMinutes .average)" "average completion minutes"
assert_close "$(sql "SELECT max((finished_at - created_at) / 60000.0) FROM roots WHERE status = 'succeeded'")" \
  "$(field rootCompletionMinutes .p95)" "p95 completion minutes of two roots (the longer)"
assert_eq ok "$(field rootCompletionMinutes .status)" "completion under 120 minutes"

assert_eq 2 "$(field rootSuccessRate .samples)" "success rate samples (cancelled not counted)"
assert_eq 1 "$(field rootSuccessRate .rate)" "success rate"
assert_eq ok "$(field rootSuccessRate .status)" "success rate status"

assert_eq 2 "$(field costEstimateError .samples)" "cost accuracy samples"
assert_close "$(sql "SELECT avg(abs(c.cost_usd - estimated_cost_usd) / estimated_cost_usd) FROM roots JOIN tree_counts c ON c.root_id = job_id WHERE status = 'succeeded'")" \
  "$(field costEstimateError .mean)" "mean cost error"
assert_close "$(sql "SELECT max(abs(c.cost_usd - estimated_cost_usd) / estimated_cost_usd) FROM roots JOIN tree_counts c ON c.root_id = job_id WHERE status = 'succeeded'")" \
  "$(field costEstimateError .worst)" "worst cost error"
# The spend the report reads is the call log's, every call of the tree summed.
for root in "$FIRST" "$SECOND"; do
  assert_close "$(sql "SELECT sum(cost_usd) FROM llm_calls WHERE root_id = '$root'")" \
    "$(sql "SELECT cost_usd FROM tree_counts WHERE root_id = '$root'")" "the spend of $root"
done

assert_eq "$(sql_count "SELECT count(*) FROM reconcile_runs")" "$(field reconcileSeconds .samples)" \
  "reconcile runs"
assert_close "$(sql "SELECT max(finished_at - started_at) / 1000.0 FROM reconcile_runs")" \
  "$(field reconcileSeconds .max)" "longest reconcile run"

# Every claim is in the attempt log once: as many rows as the claim counter counted.
hy metrics
CLAIMED=$(awk '$1 == "hydrate_jobs_claimed_total" { print $2 }' <<<"$RUN_OUT")
assert_eq "$CLAIMED" "$(sql_count "SELECT count(*) FROM attempts")" "attempt rows against claims counted"
assert_eq 0 "$(sql_count "SELECT count(*) FROM attempts WHERE outcome IS NULL")" "claims still open when idle"
assert_eq "$LOST" "$(field claimSuccessRate .leaseLost)" "leases lost"
WRITTEN=$(sql_count "SELECT count(*) FROM attempts WHERE outcome IN ('succeeded', 'retried', 'failed')")
assert_eq "$WRITTEN" "$(field claimSuccessRate .written)" "claims whose write was accepted"
assert_eq $((WRITTEN + LOST)) "$(field claimSuccessRate .samples)" "claims counted"
assert_close "$(awk -v w="$WRITTEN" -v l="$LOST" 'BEGIN { printf "%.12f", w / (w + l) }')" \
  "$(field claimSuccessRate .rate)" "claim success rate"
EXPECTED_CLAIM=$(awk -v w="$WRITTEN" -v l="$LOST" 'BEGIN { print (w / (w + l) > 0.99) ? "ok" : "missed" }')
assert_eq "$EXPECTED_CLAIM" "$(field claimSuccessRate .status)" "claim success verdict"

INVALID=$(sql_count "SELECT count(*) FROM llm_calls WHERE used = 0 AND http_status = 200 AND error LIKE 'invalid answer:%'")
assert_ge 1 "$INVALID" "answers the validator rejected"
REJECTED=$(sql_count "SELECT count(*) FROM llm_calls WHERE used = 0 AND http_status = 200 AND error NOT LIKE 'result not saved:%'")
# At most ten patterns are listed: their counts add up to the rejections when fewer are.
PATTERNS=$(jq '.validationFailures | length' <<<"$REPORT")
if ((PATTERNS < 10)); then
  assert_eq "$REJECTED" "$(jq '[.validationFailures[].count] | add' <<<"$REPORT")" "rejections by pattern"
fi
assert_ge 1 "$PATTERNS" "validation failure patterns"
assert_eq 0 "$(jq '[.validationFailures[] | select(.reason | test("\\[[0-9]+\\]"))] | length' <<<"$REPORT")" \
  "patterns that still carry an array index"

assert_eq 2 "$(jq '.costVariance | length' <<<"$REPORT")" "cost variance rows"
assert_eq "$(sql "SELECT job_id FROM roots JOIN tree_counts c ON c.root_id = job_id WHERE status = 'succeeded' ORDER BY abs(c.cost_usd - estimated_cost_usd) / estimated_cost_usd DESC LIMIT 1")" \
  "$(jq -r '.costVariance[0].rootJobId' <<<"$REPORT")" "the root with the largest variance first"
assert_eq "reconcile" "$(jq -r '.reconcile.locks[0].name' <<<"$REPORT")" "the lock the last reconcile kept"
assert_contains "$(jq -r '.reconcile.locks[0].holder' <<<"$REPORT")" "$(hostname):" "the lock's holder"

hy report
assert_contains "$RUN_OUT" "worker claim success rate" "the text report"
assert_contains "$RUN_OUT" "its lock is held by $(hostname):" "the text report"
assert_contains "$RUN_OUT" "Validation failures" "the text report"
assert_contains "$RUN_OUT" "invalid answer:" "the text report's failure patterns"

note "--check: exit 1 naming each missed target; exit 0 when the configured targets hold"
printf 'report.max_root_minutes = 0\nreport.min_claim_success_rate = 1\nreport.max_cost_error = 100\n' >"$E2E_DIR/strict.conf"
run "$HYDRATE_BIN" --config "$E2E_DIR/strict.conf" report --check
assert_eq 1 "$RUN_RC" "exit status of --check with targets missed"
assert_contains "$RUN_ERR" "2 target(s) missed" "the --check error"
assert_contains "$RUN_ERR" "root completion time" "the --check error"
assert_contains "$RUN_ERR" "worker claim success rate" "the --check error"
assert_contains "$RUN_OUT" "MISSED" "the report printed before the exit"
printf '%s\n' 'report.max_root_minutes = 1000' 'report.min_success_rate = 0.5' \
  'report.max_cost_error = 100' 'report.max_reconcile_seconds = 600' \
  'report.min_claim_success_rate = 0.5' >"$E2E_DIR/lenient.conf"
run "$HYDRATE_BIN" --config "$E2E_DIR/lenient.conf" --json report --check
assert_eq 0 "$RUN_RC" "exit status of --check when the targets hold: $RUN_ERR"
assert_eq true "$(jq -r .targetsMet <<<"$RUN_OUT")" "targetsMet with lenient targets"

note "a window after the run holds no data"
END=$(sql_count "SELECT max(m) FROM (SELECT max(finished_at) AS m FROM roots UNION ALL SELECT max(claimed_at) FROM attempts UNION ALL SELECT max(started_at) FROM reconcile_runs UNION ALL SELECT max(created_at) FROM llm_calls) AS t")
window_passed() { (($(now_ms) > END + 1100)); }
wait_until 30 "a second to pass after the run" window_passed
report_json --since 1s --check
assert_eq "no data" "$(jq -r '[.metrics[].status] | unique | join(",")' <<<"$REPORT")" \
  "statuses of a window after the run"
assert_eq 0 "$(jq '.validationFailures | length' <<<"$REPORT")" "failure patterns after the run"
