#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# deploy/prometheus/hydrate-alerts.yml: promtool accepts the rules; every alert carries a
# severity, summary, description and the runbook_url https://runbooks.example.org/
# hydrate-runbook#<lower-cased name>; `promtool test rules` passes on hydrate-alerts.test.yml,
# which covers every alert (firing, healthy, near miss); and those tests have teeth: the alert
# file with a threshold moved or an `or vector(0)` guard dropped fails them.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init deploy_prometheus
# shellcheck source=lib/deploy.bash
source "$E2E_LIB/deploy.bash"
tool_or_skip promtool prometheus
tool_or_skip python3

RULES=$DEPLOY_DIR/prometheus/hydrate-alerts.yml
TESTS=$DEPLOY_DIR/prometheus/hydrate-alerts.test.yml
run promtool check rules "$RULES"
((RUN_RC == 0)) || fail "promtool check rules: $RUN_OUT $RUN_ERR"

# Alert names and their labels and annotations, and the alerts the test file evaluates.
python3 - "$RULES" "$TESTS" >"$E2E_DIR/alerts.txt" <<'PY' || fail "the alert or test file is not what the check expects"
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
tested = {case["alertname"]: set() for t in tests["tests"] for case in t.get("alert_rule_test", [])}
for t in tests["tests"]:
    for case in t.get("alert_rule_test", []):
        tested[case["alertname"]].add("fires" if case.get("exp_alerts") else "quiet")
for group in rules["groups"]:
    for rule in group["rules"]:
        if "alert" not in rule:
            continue
        name, labels, notes = rule["alert"], rule.get("labels", {}), rule.get("annotations", {})
        print(name, labels.get("severity", "-"), notes.get("runbook_url", "-"),
              "summary" if notes.get("summary") else "-", "description" if notes.get("description") else "-",
              ",".join(sorted(tested.get(name, set()))) or "-")
PY
EXPECTED_ALERTS="HydrateBudgetStops HydrateJobFailures HydrateJobsBacklog HydrateQueueLag HydrateQuotaExhausted HydrateStuckJobs ReconcilerNotRunning"
assert_eq "$EXPECTED_ALERTS" "$(cut -d' ' -f1 "$E2E_DIR/alerts.txt" | sort | xargs)" "the alerts defined"
while read -r name severity url summary description tested; do
  [[ $severity == critical || $severity == warning ]] || fail "$name: severity '$severity' (critical or warning)"
  anchor=$(tr '[:upper:]' '[:lower:]' <<<"$name")
  assert_eq "https://runbooks.example.org/hydrate-runbook#$anchor" "$url" "runbook_url of $name"
  assert_eq "summary description" "$summary $description" "annotations of $name"
  assert_eq "fires,quiet" "$tested" "test cases of $name (one where it fires, one where it stays quiet)"
done <"$E2E_DIR/alerts.txt"

# The unit tests, from a copy: promtool resolves rule_files relative to the test file.
cp "$RULES" "$TESTS" "$E2E_DIR/"
run promtool test rules "$E2E_DIR/hydrate-alerts.test.yml"
((RUN_RC == 0)) || fail "promtool test rules: $RUN_OUT $RUN_ERR"
assert_contains "$RUN_OUT" "SUCCESS" "promtool test rules"

# mutant SED WHAT: the alert file changed by SED must fail the unit tests.
mutant() {
  sed "$1" "$RULES" >"$E2E_DIR/hydrate-alerts.yml"
  cmp -s "$RULES" "$E2E_DIR/hydrate-alerts.yml" && fail "the mutation '$1' changed nothing"
  expect_rejected "$2" promtool test rules "$E2E_DIR/hydrate-alerts.test.yml"
}
mutant 's/ > 100$/ >= 100/' "a backlog threshold of 100 pending included"
mutant 's/(sum(increase(hydrate_jobs_claimed_total\[15m\])) or vector(0))/sum(increase(hydrate_jobs_claimed_total[15m]))/' \
  "a backlog that needs the claim counter to exist"
mutant 's/ > 0\.05$/ > 0.04/' "a failure ratio threshold of 4%"
mutant 's/or absent(hydrate_reconciler_last_run_timestamp)/or vector(0) > 1/' "a reconciler alert without absent()"
mutant 's/> 900$/> 1200/' "a reconciler alert after 20 minutes"
mutant 's/max(hydrate_queue_lag_seconds) > 600/max(hydrate_queue_lag_seconds) > 598/' "a queue lag threshold under 599 s"
cp "$RULES" "$E2E_DIR/hydrate-alerts.yml"
note "7 alerts checked, tested and mutated"
