#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # the helpers take optional flags
# Calibration (SQLite here; postgres_calibration.sh runs it on PostgreSQL):
# With no history the estimate says basis "defaults". After one finished subject of a board and
# grade, the estimate of a second subject of the same board and grade says basis "history" with
# the calls and trees behind it, and is within 5% of what the second subject then costs.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_backend_init calibration "$E2E_BACKEND"

# estimate_of FLAGS…: sets EST (the estimates object of `estimate --json FLAGS…`).
estimate_of() {
  hy --json estimate "$@"
  EST=$(jq -ec .estimates <<<"$RUN_OUT") || fail "estimate printed no estimates: $RUN_OUT"
}

start_mock --latency-ms 5
first=(--language en --board CBSE --grade 1 --subject MATH)
second=(--language en --board CBSE --grade 1 --subject ENGLISH)
hy migrate
estimate_of "${first[@]}"
assert_eq defaults "$(jq -r .basis <<<"$EST")" "basis of an estimate with no history"
estimate_of "${second[@]}"
blind=$(jq -r .estimatedCostUsd <<<"$EST")

hy --json submit "${first[@]}"
first_root=$(jq -er .rootJobId <<<"$RUN_OUT")
work_until_idle --concurrency 8
assert_tree_succeeded "$first_root"

estimate_of "${second[@]}"
assert_eq history "$(jq -r .basis <<<"$EST")" "basis of an estimate after a finished subject"
assert_eq 1 "$(jq -r .historyRoots <<<"$EST")" "finished trees behind the estimate"
assert_eq "$(sql_count "SELECT count(*) FROM llm_calls")" "$(jq -r .samples <<<"$EST")" \
  "calls behind the estimate (every call of the first tree)"
expected=$(jq -r .estimatedCostUsd <<<"$EST")
hy --json estimate --no-history "${second[@]}"
assert_eq defaults "$(jq -r .estimates.basis <<<"$RUN_OUT")" "basis with --no-history"

hy --json submit "${second[@]}"
second_root=$(jq -er .rootJobId <<<"$RUN_OUT")
assert_eq history "$(jq -r .estimates.basis <<<"$RUN_OUT")" "basis of the estimate submit stored"
work_until_idle --concurrency 8
assert_tree_succeeded "$second_root"
status_json "$second_root"
actual=$(jqs .costs.actualUsd)
verdict=$(awk -v e="$expected" -v a="$actual" -v b="$blind" 'BEGIN {
  err = (e - a) / a * 100; blind = (b - a) / a * 100
  printf "%s %+.2f%% %+.1f%%", (err <= 5 && err >= -5) ? "ok" : "off", err, blind }')
note "second subject: estimated \$$expected on history, actual \$$actual: error ${verdict#* } (defaults)"
assert_eq ok "${verdict%% *}" "estimate on history within 5% of the actual cost ($verdict)"
