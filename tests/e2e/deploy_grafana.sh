#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# deploy/grafana/hydrate.json is an importable dashboard: valid JSON, schemaVersion 39, one
# ${DS_PROMETHEUS} datasource input that every panel and target uses, unique panel ids, and every
# target's PromQL parses — checked by promtool as recording rules, with Grafana's $__range,
# $__rate_interval and $__interval replaced by durations first.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init deploy_grafana
# shellcheck source=lib/deploy.bash
source "$E2E_LIB/deploy.bash"
tool_or_skip promtool prometheus

DASHBOARD=$DEPLOY_DIR/grafana/hydrate.json
jq -e . "$DASHBOARD" >/dev/null || fail "$DASHBOARD is not valid JSON"
assert_eq 39 "$(jq -r .schemaVersion "$DASHBOARD")" "schemaVersion"
assert_eq "DS_PROMETHEUS datasource prometheus" \
  "$(jq -r '.__inputs[] | "\(.name) \(.type) \(.pluginId)"' "$DASHBOARD")" "the dashboard's inputs"

# Unique ids over every panel, rows and panels nested in collapsed rows included.
ALL_PANELS='[.panels[], (.panels[] | .panels[]?)]'
assert_empty "$(jq -r "$ALL_PANELS | group_by(.id) | map(select(length > 1) | .[0].id) | .[]" "$DASHBOARD")" \
  "panel ids used more than once"
assert_empty "$(jq -r "$ALL_PANELS | .[] | select(.id == null) | .title" "$DASHBOARD")" "panels without an id"
# Rows only group; every other panel queries the input datasource, in the panel and each target.
# shellcheck disable=SC2016  # ${DS_PROMETHEUS} is Grafana's, literal here
DS='{"type":"prometheus","uid":"${DS_PROMETHEUS}"}'
assert_empty "$(jq -r --argjson ds "$DS" "$ALL_PANELS | .[] | select(.type != \"row\")
  | select(.datasource != \$ds or (.targets | length) == 0 or any(.targets[]; .datasource != \$ds or (.expr // \"\") == \"\"))
  | .title" "$DASHBOARD")" "panels without the \${DS_PROMETHEUS} datasource, or with a target lacking it or an expr"

# What the brief asks the dashboard to show, by the metric each panel must query.
for metric in hydrate_jobs hydrate_roots_finished_total hydrate_llm_cost_usd_total \
  hydrate_job_duration_seconds_bucket hydrate_queue_lag_seconds hydrate_jobs_in_flight \
  hydrate_llm_prompt_tokens_total hydrate_transient_retries_total hydrate_reconcile_duration_seconds_bucket \
  hydrate_batches; do
  jq -e --arg m "$metric" "[$ALL_PANELS | .[] | .targets[]?.expr] | any(test(\"\\\\b\" + \$m + \"\\\\b\"))" \
    "$DASHBOARD" >/dev/null || fail "no panel queries $metric"
done
assert_eq heatmap "$(jq -r "$ALL_PANELS | .[] | select(any(.targets[]?; .expr | test(\"hydrate_job_duration_seconds_bucket\"))) | .type" "$DASHBOARD")" \
  "type of the step duration panel"

# rules_of DASHBOARD: every target's expr as a recording rule, Grafana's variables replaced.
rules_of() {
  jq -r "$ALL_PANELS | .[] | select(.targets) | .id as \$id | .targets[] | [\$id, .refId, .expr] | @json" "$1" |
    while IFS= read -r line; do
      jq -r '"      - record: dashboard:panel_\(.[0])_\(.[1])\n        expr: \(.[2] | gsub("\\$__rate_interval"; "5m") | gsub("\\$__range"; "24h") | gsub("\\$__interval"; "1m") | @json)"' <<<"$line"
    done
}
check_dashboard() {
  local rules
  rules=$E2E_DIR/$(basename "$1").rules.yml
  { printf 'groups:\n  - name: dashboard\n    rules:\n'; rules_of "$1"; } >"$rules"
  promtool check rules "$rules"
}
check_dashboard "$DASHBOARD" >"$E2E_DIR/check.out" 2>&1 || fail "promtool rejects a panel's query: $(cat "$E2E_DIR/check.out")"
count=$(jq "[$ALL_PANELS | .[] | .targets[]?] | length" "$DASHBOARD")
assert_contains "$(cat "$E2E_DIR/check.out")" "SUCCESS: $count rules found" "promtool's verdict on the $count panel queries"

# The check catches a query that does not parse.
jq '.panels[1].targets[0].expr = "sum by (status (hydrate_jobs)"' "$DASHBOARD" >"$E2E_DIR/broken.json"
expect_rejected "a dashboard with an unbalanced parenthesis" check_dashboard "$E2E_DIR/broken.json"
note "$count panel queries parse"
