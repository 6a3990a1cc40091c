#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Every metric the alert rules and the dashboard query is one that `hydrate metrics` exports: a
# renamed or misspelt metric would make an alert never fire and a panel stay empty, silently.
# Names are compared with the families a fresh database announces (# TYPE lines); histogram
# series (_bucket, _sum, _count) count as their family, recording rules (with a colon) are
# defined by the rule file itself.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init deploy_metric_names
# shellcheck source=lib/deploy.bash
source "$E2E_LIB/deploy.bash"

hydrate_metric_families >"$E2E_DIR/families.txt"
assert_ge 10 "$(wc -l <"$E2E_DIR/families.txt")" "metric families hydrate announces"
{
  grep -v '^ *#' "$DEPLOY_DIR/prometheus/hydrate-alerts.yml"
  jq -r '.. | objects | .expr? // empty' "$DEPLOY_DIR/grafana/hydrate.json"
} | grep -oE '\bhydrate_[a-z_]+\b' | sed -E 's/_(bucket|sum|count)$//' | sort -u >"$E2E_DIR/used.txt"
assert_ge 15 "$(wc -l <"$E2E_DIR/used.txt")" "distinct hydrate metrics the alerts and the dashboard use"
unknown=$(comm -23 "$E2E_DIR/used.txt" "$E2E_DIR/families.txt" | paste -sd' ')
assert_empty "$unknown" "metrics used by deploy/prometheus or deploy/grafana that hydrate metrics does not export"
note "$(wc -l <"$E2E_DIR/used.txt") metrics used, all exported"
