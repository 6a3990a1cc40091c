#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The stuck threshold: the config key reconcile.stuck_after (default 15m) sets it for
# hydrate_stuck_jobs and for hydrate reconcile; reconcile --stuck-minutes overrides it there.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init stuck_after

stuck_gauge() {
  hy "$@" metrics
  awk '$1 == "hydrate_stuck_jobs" { print $2 }' <<<"$RUN_OUT"
}
stuck_line() { grep -o '[0-9]* stuck step(s)' <<<"$RUN_OUT"; }

hy submit --language en --board CBSE --grade 1 --subject MATH --chapters 2 --topics-per-chapter 1 \
  --questions-per-topic 2
# The subject is due from the moment it was submitted: once the clock has moved past that, it
# has waited longer than a threshold of 0 s.
due_a_while() {
  [[ $(sql "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - run_after > 5
            FROM jobs") == 1 ]]
}
wait_until 30 "the clock to pass the step's due time" due_a_while
printf 'reconcile.stuck_after = 0s\n' >"$E2E_DIR/zero.conf"
printf 'reconcile.stuck_after = 2h\n' >"$E2E_DIR/long.conf"

assert_eq 0 "$(stuck_gauge)" "stuck steps at the default threshold (15m)"
assert_eq 1 "$(stuck_gauge --config "$E2E_DIR/zero.conf")" "stuck steps at a threshold of 0s"
assert_eq 0 "$(stuck_gauge --config "$E2E_DIR/long.conf")" "stuck steps at a threshold of 2h"

hy reconcile
assert_eq "0 stuck step(s)" "$(stuck_line)" "reconcile at the default threshold"
hy --config "$E2E_DIR/zero.conf" reconcile --metrics-file "$E2E_DIR/reconcile.prom"
assert_eq "1 stuck step(s)" "$(stuck_line)" "reconcile at the configured threshold"
assert_eq 1 "$(awk '$1 == "hydrate_stuck_jobs" { print $2 }' "$E2E_DIR/reconcile.prom")" \
  "hydrate_stuck_jobs in reconcile's metrics file"
hy --config "$E2E_DIR/zero.conf" reconcile --stuck-minutes 60 --metrics-file "$E2E_DIR/reconcile.prom"
assert_eq "0 stuck step(s)" "$(stuck_line)" "reconcile with --stuck-minutes over the configured key"
assert_eq 0 "$(awk '$1 == "hydrate_stuck_jobs" { print $2 }' "$E2E_DIR/reconcile.prom")" \
  "hydrate_stuck_jobs in the metrics file written with --stuck-minutes"

printf 'reconcile.stuck_after = soon\n' >"$E2E_DIR/bad.conf"
run "$HYDRATE_BIN" --config "$E2E_DIR/bad.conf" metrics
assert_eq 2 "$RUN_RC" "exit status for a stuck_after that is not a duration"
assert_contains "$RUN_ERR" "reconcile.stuck_after" "the error"
