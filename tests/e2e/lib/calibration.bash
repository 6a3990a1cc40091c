# shellcheck shell=bash
# The calibration scenario, run by calibration.sh (SQLite) and postgres_calibration.sh. Requires
# start_mock to have run.
#
# With no history the estimate says basis "defaults". After one finished subject of a board and
# grade, the estimate of a second subject of the same board and grade says basis "history" with
# the calls and trees behind it, and is within 5% of what the second subject then costs.

# estimate_of FLAGS…: sets EST (the estimates object of `estimate --json FLAGS…`).
estimate_of() {
  hy --json estimate "$@"
  EST=$(jq -ec .estimates <<<"$RUN_OUT") || fail "estimate printed no estimates: $RUN_OUT"
}

calibration_scenario() {
  local first=(--language en --board CBSE --grade 1 --subject MATH)
  local second=(--language en --board CBSE --grade 1 --subject ENGLISH)
  hy migrate
  estimate_of "${first[@]}"
  assert_eq defaults "$(jq -r .basis <<<"$EST")" "basis of an estimate with no history"
  estimate_of "${second[@]}"
  local blind
  blind=$(jq -r .estimatedCostUsd <<<"$EST")

  hy --json submit "${first[@]}"
  local first_root
  first_root=$(jq -er .rootJobId <<<"$RUN_OUT")
  work_until_idle --concurrency 8
  assert_tree_succeeded "$first_root"

  estimate_of "${second[@]}"
  assert_eq history "$(jq -r .basis <<<"$EST")" "basis of an estimate after a finished subject"
  assert_eq 1 "$(jq -r .historyRoots <<<"$EST")" "finished trees behind the estimate"
  assert_eq "$(sql_count "SELECT count(*) FROM llm_calls")" "$(jq -r .samples <<<"$EST")" \
    "calls behind the estimate (every call of the first tree)"
  local expected
  expected=$(jq -r .estimatedCostUsd <<<"$EST")
  hy --json estimate --no-history "${second[@]}"
  assert_eq defaults "$(jq -r .estimates.basis <<<"$RUN_OUT")" "basis with --no-history"

  hy --json submit "${second[@]}"
  local second_root
  second_root=$(jq -er .rootJobId <<<"$RUN_OUT")
  assert_eq history "$(jq -r .estimates.basis <<<"$RUN_OUT")" "basis of the estimate submit stored"
  work_until_idle --concurrency 8
  assert_tree_succeeded "$second_root"
  status_json "$second_root"
  local actual
  actual=$(jqs .costs.actualUsd)
  local verdict
  verdict=$(awk -v e="$expected" -v a="$actual" -v b="$blind" 'BEGIN {
    err = (e - a) / a * 100; blind = (b - a) / a * 100
    printf "%s %+.2f%% %+.1f%%", (err <= 5 && err >= -5) ? "ok" : "off", err, blind }')
  note "second subject: estimated \$$expected on history, actual \$$actual: error ${verdict#* } (defaults)"
  assert_eq ok "${verdict%% *}" "estimate on history within 5% of the actual cost ($verdict)"
}
